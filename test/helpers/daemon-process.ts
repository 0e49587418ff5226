/** `coral-pipe daemon` in its own process, as systemd runs it: its JSON log lines kept and waited on. */
import { spawn, type ChildProcess } from 'node:child_process';
import { cliPath } from './cli.js';

export type LogLine = Record<string, unknown>;

export interface DaemonProcess {
  readonly child: ChildProcess;
  /** Every JSON log line so far (stdout), in order. */
  readonly lines: LogLine[];
  /** Everything it wrote, stdout and stderr, for failure messages. */
  output(): string;
  /** The first line from `from` on (already written or still to come) that matches; fails after `ms` or if the process exits first. */
  nextLine(match: (line: LogLine) => boolean, what: string, from?: number, ms?: number): Promise<LogLine>;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exit: Promise<number | null>;
}

export function spawnDaemon(configFile: string, extraArgs: readonly string[] = []): DaemonProcess {
  const child = spawn(process.execPath, [cliPath, 'daemon', '--config', configFile, ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: LogLine[] = [];
  let text = '';
  let partial = '';
  let waiters: { match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  child.stdout!.on('data', (d: Buffer) => {
    text += d.toString();
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop()!;
    for (const part of parts) {
      if (!part.startsWith('{')) continue;
      const line = JSON.parse(part) as LogLine;
      lines.push(line);
      waiters = waiters.filter((w) => (w.match(line) ? (w.resolve(line), false) : true));
    }
  });
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    output: () => text,
    exit,
    nextLine(match, what, from = 0, ms = 60_000) {
      const already = lines.slice(from).find(match);
      if (already) return Promise.resolve(already);
      return new Promise((resolve, reject) => {
        let timer: NodeJS.Timeout | undefined;
        const fail = (why: string) => (clearTimeout(timer), reject(new Error(`waiting for ${what}: ${why}; daemon output:\n${text}`)));
        timer = setTimeout(() => fail(`not logged within ${ms} ms`), ms);
        void exit.then((code) => fail(`the daemon exited (${code}) first`));
        waiters.push({ match, resolve: (l) => (clearTimeout(timer), resolve(l)) });
      });
    },
  };
}

/** A matcher for log lines by their `event` field (and any other fields given). */
export const event = (name: string, fields: LogLine = {}) => (line: LogLine) =>
  line.event === name && Object.entries(fields).every(([k, v]) => line[k] === v);
