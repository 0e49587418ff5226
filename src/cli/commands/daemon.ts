import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { ConfigError, formatProblem } from '../../daemon/config-error.js';
import { loadConfig } from '../../daemon/config-load.js';
import { watchConfigFile } from '../../daemon/config-watch.js';
import { Daemon } from '../../daemon/daemon.js';
import { createLogger } from '../../daemon/logger.js';
import { createPipelineClassifier } from '../../daemon/pipeline-classifier.js';
import { createNotifier } from '../../systemd/notify.js';

/** The appliance service (what systemd runs): frames in over MQTT, classifications out, until SIGTERM. */
const daemon: Command = {
  name: 'daemon',
  summary: 'Run the MQTT classification service (what the systemd unit starts)',
  usage: 'coral-pipe daemon --config FILE [--pretty] [--log-level LEVEL]',
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        pretty: { type: 'boolean', default: false },
        'log-level': { type: 'string' },
      },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    if (values.config === undefined) throw new UsageError('--config FILE is required');
    const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];
    const level = values['log-level'];
    if (level !== undefined && !levels.includes(level)) throw new UsageError(`--log-level must be one of ${levels.join(', ')}`);

    let config;
    try {
      config = await loadConfig(values.config);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      for (const problem of err.problems) process.stderr.write(`${formatProblem(problem)}\n`);
      return 1;
    }
    const log = createLogger({ level: (level ?? config.log.level) as 'info', pretty: values.pretty });
    const notifier = createNotifier();
    if (notifier.problem) log.warn({ event: 'systemd' }, notifier.problem);

    const running = await Daemon.start({ config, createClassifier: createPipelineClassifier, log, notifier });
    const reload = (why: string) => {
      log.info({ event: 'reload', why }, `reloading config (${why})`);
      running.reloadFile().catch((err: Error) => log.error({ event: 'reload', err: err.message }, `reload failed: ${err.message}`));
    };
    const watcher = watchConfigFile(config.file, () => reload('file changed'));
    process.on('SIGHUP', () => reload('SIGHUP'));
    const code = await new Promise<number>((resolve) => {
      const stop = (signal: string) => {
        log.info({ event: 'signal', signal }, `${signal}: stopping`);
        watcher.close();
        running.stop().then(() => resolve(0), (err: Error) => {
          log.error({ event: 'stop', err: err.message }, 'stop failed');
          resolve(1);
        });
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    return code;
  },
};
export default daemon;
