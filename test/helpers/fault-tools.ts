/**
 * Tools for the fault-injection tests: waiting on a condition, logs and systemd notifications kept in
 * memory, cameras streaming frames, and a broker killed the hard way (SIGKILL, as a crash or the OOM
 * killer would).
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import { createLogger, type Logger } from '../../src/daemon/lifecycle/logger.js';
import type { Notifier } from '../../src/systemd/notify.js';
import type { Mosquitto } from './mosquitto.js';

/** Polls `condition` every 20 ms; fails the test naming `what` (worked out only then, when a function) after `ms`. */
export async function until(condition: () => boolean, what: string | (() => string), ms = 20_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A pino logger whose JSON lines are kept, parsed, for assertions. */
export function memoryLog(): { log: Logger; entries: Record<string, unknown>[] } {
  const entries: Record<string, unknown>[] = [];
  const log = createLogger({ level: 'info', destination: { write: (line: string) => void entries.push(JSON.parse(line) as Record<string, unknown>) } });
  return { log, entries };
}

/** A notifier that records STATUS lines (and counts watchdog pings) instead of talking to systemd. */
export function recordingNotifier(): Notifier & { readonly statuses: string[] } {
  const statuses: string[] = [];
  return {
    enabled: true,
    statuses,
    ready: (s) => void (s !== undefined && statuses.push(s)),
    status: (s) => void statuses.push(s),
    watchdog: () => {},
    stopping: () => {},
    send: () => {},
  };
}

/**
 * Cameras publishing `frame(n)` on each topic every `everyMs`, QoS 0, skipping ticks while the client
 * is disconnected (so the test client buffers nothing during an outage).
 */
export function streamFrames(client: MqttClient, topics: readonly string[], frame: (n: number) => Buffer, everyMs: number): { stop(): void; readonly sent: number } {
  let sent = 0;
  const timer = setInterval(() => {
    if (!client.connected) return;
    for (const topic of topics) client.publish(topic, frame(sent++), { qos: 0 });
  }, everyMs);
  return {
    stop: () => clearInterval(timer),
    get sent() {
      return sent;
    },
  };
}

/** The pid of the mosquitto running `broker`'s config (found in /proc, as an operator's kill -9 would). */
export function brokerPid(broker: Mosquitto): number {
  const conf = path.join(path.dirname(broker.caFile), 'mosquitto.conf');
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const args = cmdline.split('\0');
    if (args[0]?.endsWith('mosquitto') && args.includes(conf)) return Number(entry);
  }
  throw new Error(`no mosquitto process runs ${conf}`);
}

/** SIGKILLs the broker and waits until its process is gone. */
export async function killBroker(broker: Mosquitto): Promise<void> {
  const pid = brokerPid(broker);
  process.kill(pid, 'SIGKILL');
  await until(() => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  }, `mosquitto pid ${pid} to die`, 5000);
}
