/**
 * systemd's watchdog pings: sent only while frames keep completing (or none is waiting) and the
 * pipeline has not failed, so a hung accelerator gets the service restarted.
 */
import type { Logger } from 'pino';
import type { Notifier } from '../../systemd/notify.js';

/** What the watchdog looks at each tick. */
export interface WatchdogProbe {
  /** Frames finished so far (a count that only grows). */
  readonly progress: number;
  readonly inFlight: number;
  readonly failure: Error | undefined;
}

/** Starts pinging at the notifier's watchdog interval; undefined when systemd set no watchdog. */
export function startWatchdog(notifier: Notifier | undefined, log: Logger, probe: () => WatchdogProbe): NodeJS.Timeout | undefined {
  const watchdogMs = notifier?.watchdogIntervalMs;
  if (notifier === undefined || watchdogMs === undefined) return undefined;
  let lastProgress = 0;
  return setInterval(() => {
    const { progress, inFlight, failure } = probe();
    // Progress, or nothing to do: both mean the pipeline is not stuck. A failed one is never fine.
    const alive = failure === undefined && (progress > lastProgress || inFlight === 0);
    if (alive) notifier.watchdog();
    else log.warn({ event: 'watchdog-withheld', inFlight, failed: failure?.message }, 'no frame completed since the last watchdog tick');
    lastProgress = progress;
  }, watchdogMs);
}
