import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import type { LoggerOptions } from '../../daemon/lifecycle/logger.js';
import { unitControlSocket } from '../../daemon/lifecycle/control-socket.js';
import { createPipelineClassifier } from '../../daemon/frames/pipeline-classifier.js';
import { runService } from '../../daemon/lifecycle/service.js';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

/** The appliance service (what systemd runs): frames in over MQTT, classifications out, until SIGTERM. */
const daemon: Command = {
  name: 'daemon',
  summary: 'Run the MQTT classification service (what the systemd unit starts)',
  usage:
    'coral-pipe daemon --config FILE [--pretty] [--log-level LEVEL] [--control-socket PATH]\n' +
    '  --control-socket  where `coral-pipe reload` reaches it; default: control.sock in $RUNTIME_DIRECTORY (set by systemd), else none',
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        pretty: { type: 'boolean', default: false },
        'log-level': { type: 'string' },
        'control-socket': { type: 'string' },
      },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    if (values.config === undefined) throw new UsageError('--config FILE is required');
    const level = values['log-level'];
    if (level !== undefined && !LEVELS.includes(level)) throw new UsageError(`--log-level must be one of ${LEVELS.join(', ')}`);
    const controlSocket = values['control-socket'] ?? unitControlSocket();
    return runService({
      configFile: values.config,
      ...(controlSocket !== undefined && { controlSocket }),
      createClassifier: createPipelineClassifier,
      pretty: values.pretty,
      ...(level !== undefined && { logLevel: level as LoggerOptions['level'] }),
    });
  },
};
export default daemon;
