import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { ConfigError, formatProblem } from '../../daemon/config/config-error.js';
import { filesNamedBy, loadConfig } from '../../daemon/config/config-load.js';
import { configJsonSchemaText } from '../../daemon/config/config-schema.js';
import { checkModel } from '../../daemon/config/model-check.js';
import { filesHiddenFromUnit } from '../../daemon/config/unit-sandbox.js';

/**
 * Validates a daemon config without starting anything, for editors, CI and before a reload: the fields,
 * the files it names, and whether its model can serve on the devices present (model-check.ts), as the
 * daemon checks them; and warns about files the systemd unit would hide from the daemon.
 */
const checkConfig: Command = {
  name: 'check-config',
  summary: 'Validate a daemon config file (YAML or JSON) and its model without starting the daemon',
  usage: 'coral-pipe check-config FILE\n       coral-pipe check-config --schema   (print the JSON Schema of the config)',
  async run(argv) {
    const { positionals, values } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { schema: { type: 'boolean', default: false } },
    });
    if (values.schema) {
      if (positionals.length > 0) throw new UsageError('--schema takes no file');
      process.stdout.write(configJsonSchemaText());
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError('give exactly one config file');
    const file = positionals[0]!;
    try {
      const config = await loadConfig(file);
      // The model too, as the daemon will find it: a config that loads but cannot serve is not ok.
      const { labels } = await checkModel(config);
      if (labels?.note) process.stderr.write(`note: ${labels.note}\n`);
      // Fine here, missing for the service: say so now rather than in the journal after a restart.
      for (const h of await filesHiddenFromUnit(config.file, filesNamedBy(config)))
        process.stderr.write(`warning: ${file}: ${h.field}: ${h.file} is out of the systemd unit's sight (${h.why}); keep it under /etc/coral-pipe\n`);
      const cameras = Object.keys(config.cameras).length;
      process.stdout.write(`${file}: ok (node ${config.node}, ${cameras} camera${cameras === 1 ? '' : 's'})\n`);
      return 0;
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      // One line per problem, each already naming file:line, the field and what was expected.
      for (const problem of err.problems) process.stderr.write(`${formatProblem(problem)}\n`);
      return 1;
    }
  },
};
export default checkConfig;
