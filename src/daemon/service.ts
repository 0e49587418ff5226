/**
 * The daemon as a service, what `coral-pipe daemon` runs under systemd: loads the config, starts the
 * daemon, reloads on config file changes and SIGHUP, and stops cleanly on SIGTERM or SIGINT. The
 * classifier factory (and device watcher) are parameters so that the benchmarks can serve the same
 * way through stand-in accelerators.
 */
import type { DeviceWatcher } from '../devices/hotplug.js';
import { createNotifier } from '../systemd/notify.js';
import type { ClassifierFactory } from './classifier.js';
import { ConfigError, formatProblem } from './config-error.js';
import { loadConfig } from './config-load.js';
import { watchConfigFile } from './config-watch.js';
import { Daemon } from './daemon.js';
import { createLogger, type LoggerOptions } from './logger.js';

export interface ServiceOptions {
  readonly configFile: string;
  readonly createClassifier: ClassifierFactory;
  /** Overrides the config's `log.level`. */
  readonly logLevel?: LoggerOptions['level'];
  /** Human-readable logs instead of JSON lines. */
  readonly pretty?: boolean;
  readonly deviceWatcher?: DeviceWatcher;
}

/** Runs until a stop signal; resolves with the process exit code (1 for a config that does not load). */
export async function runService(options: ServiceOptions): Promise<number> {
  let config;
  try {
    config = await loadConfig(options.configFile);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const problem of err.problems) process.stderr.write(`${formatProblem(problem)}\n`);
    return 1;
  }
  const log = createLogger({ level: options.logLevel ?? config.log.level, pretty: options.pretty ?? false });
  const notifier = createNotifier();
  if (notifier.problem) log.warn({ event: 'systemd' }, notifier.problem);

  const running = await Daemon.start({
    config,
    createClassifier: options.createClassifier,
    log,
    notifier,
    ...(options.deviceWatcher && { deviceWatcher: options.deviceWatcher }),
  });
  const reload = (why: string) => {
    log.info({ event: 'reload', why }, `reloading config (${why})`);
    running.reloadFile().catch((err: Error) => log.error({ event: 'reload', err: err.message }, `reload failed: ${err.message}`));
  };
  const watcher = watchConfigFile(config.file, () => reload('file changed'));
  process.on('SIGHUP', () => reload('SIGHUP'));
  return new Promise<number>((resolve) => {
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
}
