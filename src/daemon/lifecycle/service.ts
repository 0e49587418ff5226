/**
 * The daemon as a service, what `coral-pipe daemon` runs under systemd: loads the config, starts the
 * daemon, reloads on config file changes and SIGHUP, and stops cleanly on SIGTERM or SIGINT. The
 * classifier factory (and device watcher) are parameters so that the benchmarks can serve the same
 * way through stand-in accelerators.
 *
 * Signals and config edits are handled from the first instant, not only once the daemon is up: an
 * appliance boots before its broker as often as not, and start-up then waits for the broker for as long
 * as it takes. Meanwhile SIGTERM stops cleanly, and SIGHUP or an edit of the file (say, a corrected
 * broker URL) starts again with the new config; an edit that does not validate is refused and start-up
 * goes on with the config it has.
 */
import type { DeviceWatcher } from '../../devices/hotplug.js';
import { isJournalStream, JOURNAL_PRIORITY, priorityPrefix } from '../../systemd/journal.js';
import { createNotifier } from '../../systemd/notify.js';
import type { ClassifierFactory } from '../frames/classifier.js';
import { ConfigError, problemLines } from '../config/config-error.js';
import { loadConfig, type DaemonConfig } from '../config/config-load.js';
import { watchConfigFile } from '../config/config-watch.js';
import { listenControl, type ControlServer } from './control-socket.js';
import { Daemon, STOPPING } from './daemon.js';
import { createLogger, type LoggerOptions } from './logger.js';
import { startMemoryTrim } from './memory-trim.js';

export interface ServiceOptions {
  readonly configFile: string;
  readonly createClassifier: ClassifierFactory;
  /** Overrides the config's `log.level`. */
  readonly logLevel?: LoggerOptions['level'];
  /** Human-readable logs instead of JSON lines. */
  readonly pretty?: boolean;
  readonly deviceWatcher?: DeviceWatcher;
  /** Where `coral-pipe reload` reaches the daemon (control-socket.ts); none when undefined. */
  readonly controlSocket?: string;
}

/**
 * The exit status for a config that cannot serve (sysexits.h's EX_CONFIG): the unit's
 * RestartPreventExitStatus= names it, so systemd marks the service failed with the reason instead of
 * restarting it every few seconds as it does after a runtime failure (status 1).
 */
export const EXIT_CONFIG = 78;

const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;
const FILE_CHANGED = 'file changed';

/** Config problems on stderr, one a line; at error priority when stderr is the journal. */
function printProblems(lines: readonly string[]): void {
  const prefix = isJournalStream(2) ? priorityPrefix(JOURNAL_PRIORITY.err) : '';
  for (const line of lines) process.stderr.write(`${prefix}${line}\n`);
}

/** Runs until a stop signal; resolves with the process exit code (EXIT_CONFIG for a config that cannot serve). */
export async function runService(options: ServiceOptions): Promise<number> {
  // Registered before anything else, so that no signal meets Node's defaults (SIGHUP would kill).
  let stopSignal: NodeJS.Signals | undefined;
  let onStop = () => {};
  let onChange = (_why: string) => {};
  const stopHandler = (signal: NodeJS.Signals) => {
    if (stopSignal !== undefined) return;
    stopSignal = signal;
    onStop();
  };
  const hupHandler = () => onChange('SIGHUP');
  for (const s of STOP_SIGNALS) process.on(s, stopHandler);
  process.on('SIGHUP', hupHandler);
  try {
    let config: DaemonConfig;
    try {
      config = await loadConfig(options.configFile);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      printProblems(problemLines(err));
      return EXIT_CONFIG;
    }
    const log = createLogger({ level: options.logLevel ?? config.log.level, pretty: options.pretty ?? false });
    const notifier = createNotifier();
    if (notifier.problem) log.warn({ event: 'systemd' }, notifier.problem);
    const trimming = startMemoryTrim(log);
    const stopping = new Promise<NodeJS.Signals>((resolve) => {
      onStop = () => {
        log.info({ event: 'signal', signal: stopSignal }, `${stopSignal}: stopping`);
        notifier.stopping('stopping');
        resolve(stopSignal!);
      };
      if (stopSignal !== undefined) onStop();
    });

    let daemon: Daemon | undefined;
    /** A valid config read during start-up, to start again with; `restart` gives up the current attempt. */
    let pending: DaemonConfig | undefined;
    let restart = new AbortController();
    const reload = (why: string) => {
      const trigger = why === FILE_CHANGED ? 'edit' : 'request';
      // An edit already tried by a request is skipped (Daemon.reloadFile), so only requests announce themselves here.
      if (trigger === 'request') log.info({ event: 'reload', why }, `reloading config (${why})`);
      daemon!.reloadFile(trigger).catch((err: Error) => log.error({ event: 'reload', err: err.message }, `reload failed: ${err.message}`));
    };
    onChange = (why) => {
      if (stopSignal !== undefined) return;
      if (daemon !== undefined) return reload(why);
      log.info({ event: 'reload', why }, `config changed during start-up (${why})`);
      loadConfig(config.file).then(
        (next) => {
          // Started meanwhile: a reload applies it.
          if (daemon !== undefined) return reload(why);
          pending = next;
          restart.abort(new Error('config changed'));
        },
        (err: unknown) => {
          const errors = problemLines(err);
          log.error({ event: 'reload', errors }, `config rejected, starting with the previous one: ${errors[0]}`);
          notifier.status(`config rejected: ${errors[0]}`);
        },
      );
    };
    const watcher = watchConfigFile(config.file, () => onChange(FILE_CHANGED));
    let started = (_d: Daemon | undefined) => {};
    const up = new Promise<Daemon | undefined>((resolve) => (started = resolve));
    const control = await openControl(up);
    try {
      try {
        daemon = await startUp(config);
        started(daemon);
      } catch (err) {
        // The model the config names cannot serve (found while building): a config error like the others.
        if (!(err instanceof ConfigError)) throw err;
        const errors = problemLines(err);
        log.error({ event: 'config', errors }, `cannot serve the config: ${errors[0]}`);
        printProblems(errors);
        return EXIT_CONFIG;
      }
      if (daemon === undefined) {
        log.info({ event: 'stopped' }, 'daemon stopped');
        return 0;
      }
      await stopping;
      return await daemon.stop().then(
        () => 0,
        (err: Error) => {
          log.error({ event: 'stop', err: err.message }, 'stop failed');
          return 1;
        },
      );
    } finally {
      started(undefined);
      await control?.close();
      watcher.close();
      trimming.stop();
    }

    /** The control socket, open from the start: a request made while starting is answered once started. */
    async function openControl(daemonUp: Promise<Daemon | undefined>): Promise<ControlServer | undefined> {
      if (options.controlSocket === undefined) return undefined;
      try {
        return await listenControl(options.controlSocket, {
          reload: async () => {
            const d = await daemonUp;
            if (d === undefined || stopSignal !== undefined) return STOPPING;
            log.info({ event: 'reload', why: 'coral-pipe reload' }, 'reloading config (coral-pipe reload)');
            return d.reloadFile();
          },
        });
      } catch (err) {
        // The daemon serves without it; SIGHUP and config edits still reload.
        log.error({ event: 'control', socket: options.controlSocket, err: (err as Error).message }, `no control socket: ${(err as Error).message}`);
        return undefined;
      }
    }

    /** Starts the daemon, again with each valid config edited in meanwhile; undefined when stopped first. */
    async function startUp(first: DaemonConfig): Promise<Daemon | undefined> {
      let current = first;
      void stopping.then(() => restart.abort(new Error('stopping')));
      for (;;) {
        if (stopSignal !== undefined) return undefined;
        try {
          return await Daemon.start({
            config: current,
            createClassifier: options.createClassifier,
            log,
            notifier,
            signal: restart.signal,
            ...(options.deviceWatcher && { deviceWatcher: options.deviceWatcher }),
          });
        } catch (err) {
          if (!restart.signal.aborted) throw err;
          if (stopSignal !== undefined) return undefined;
          current = pending!;
          pending = undefined;
          if (options.logLevel === undefined) log.level = current.log.level;
          restart = new AbortController();
          log.info({ event: 'restart' }, 'starting again with the edited config');
        }
      }
    }
  } finally {
    for (const s of STOP_SIGNALS) process.off(s, stopHandler);
    process.off('SIGHUP', hupHandler);
  }
}
