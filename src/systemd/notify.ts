/**
 * sd_notify for the daemon: READY=1, STATUS=..., WATCHDOG=1, STOPPING=1 as datagrams to
 * $NOTIFY_SOCKET, sent by the native addon from this very process, so `NotifyAccess=main` accepts
 * them (a `systemd-notify` child would be another pid). A no-op when $NOTIFY_SOCKET is unset.
 */
import { loadNativeAddon } from '../native/addon.js';

interface NotifyAddon {
  notify(socketPath: string, message: string): void;
}

export interface Notifier {
  /** True when messages actually go to systemd. */
  readonly enabled: boolean;
  /** Why notification is off although $NOTIFY_SOCKET is set (the addon is not built); log it. */
  readonly problem?: string;
  /** Half of systemd's WatchdogSec, the ping interval systemd recommends; undefined when no watchdog is set for us. */
  readonly watchdogIntervalMs?: number;
  ready(status?: string): void;
  status(text: string): void;
  watchdog(): void;
  stopping(status?: string): void;
  /** Any other sd_notify fields, e.g. `{RELOADING: '1'}` or `{EXTEND_TIMEOUT_USEC: '5000000'}`. */
  send(fields: Readonly<Record<string, string>>): void;
}

/** One line per field; a newline inside a value would start a new field, so it becomes a space. */
export function formatNotifyMessage(fields: Readonly<Record<string, string>>): string {
  return Object.entries(fields)
    .map(([key, value]) => `${key}=${value.replace(/\n/g, ' ')}`)
    .join('\n');
}

function watchdogInterval(env: NodeJS.ProcessEnv): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isFinite(usec) || usec <= 0) return undefined;
  // WATCHDOG_PID, when set, names the process the watchdog is meant for.
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== process.pid) return undefined;
  return Math.max(1, Math.floor(usec / 2000));
}

export function createNotifier(env: NodeJS.ProcessEnv = process.env): Notifier {
  const socket = env.NOTIFY_SOCKET;
  let addon: NotifyAddon | undefined;
  let problem: string | undefined;
  if (socket) {
    try {
      addon = loadNativeAddon<NotifyAddon>('coral_sd_notify');
    } catch (err) {
      problem = `systemd notification is off: ${(err as Error).message}`;
    }
  }
  const send = (fields: Readonly<Record<string, string>>) => {
    if (addon && socket) addon.notify(socket, formatNotifyMessage(fields));
  };
  const interval = socket ? watchdogInterval(env) : undefined;
  return {
    enabled: addon !== undefined,
    ...(problem !== undefined ? { problem } : {}),
    ...(interval !== undefined ? { watchdogIntervalMs: interval } : {}),
    ready: (status) => send({ READY: '1', ...(status !== undefined ? { STATUS: status } : {}) }),
    status: (text) => send({ STATUS: text }),
    watchdog: () => send({ WATCHDOG: '1' }),
    stopping: (status) => send({ STOPPING: '1', ...(status !== undefined ? { STATUS: status } : {}) }),
    send,
  };
}
