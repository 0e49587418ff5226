/**
 * The daemon's control socket: a Unix socket in its runtime directory on which `coral-pipe reload`
 * asks for a reload and waits for the outcome. A signal cannot answer, so with `ExecReload=kill -HUP`
 * `systemctl reload` returned before the daemon had reloaded and succeeded when it refused the config;
 * with `ExecReload=coral-pipe reload` it waits and fails with the daemon's reasons.
 *
 * Protocol: one JSON line each way, `{"command":"reload"}` answered by a ReloadOutcome.
 */
import { unlink } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { DEFAULT_RUNTIME_DIR } from '../../devices/lease.js';
import type { ReloadOutcome } from './reload-plan.js';

const SOCKET_NAME = 'control.sock';
/** Requests are a few bytes; a peer that sends more without a newline is not a coral-pipe client. */
const MAX_REQUEST_BYTES = 4096;

/** The socket in the unit's runtime directory (systemd sets $RUNTIME_DIRECTORY for every Exec* line). */
export function unitControlSocket(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dir = env.RUNTIME_DIRECTORY?.split(':')[0];
  return dir ? path.join(dir, SOCKET_NAME) : undefined;
}

/** Where `coral-pipe reload` looks when not told: the unit's runtime directory, as systemd names it or as installed. */
export function defaultControlSocket(env: NodeJS.ProcessEnv = process.env): string {
  return unitControlSocket(env) ?? path.join(DEFAULT_RUNTIME_DIR, SOCKET_NAME);
}

export interface ControlHandlers {
  reload(): Promise<ReloadOutcome>;
}

export interface ControlServer {
  close(): Promise<void>;
}

/** Whether a daemon answers at `socketPath`; a socket file nobody listens on is left over from a crash. */
function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/** Listens at `socketPath`, replacing a stale socket file; refuses if another daemon answers there. */
export async function listenControl(socketPath: string, handlers: ControlHandlers): Promise<ControlServer> {
  if (await answers(socketPath)) throw new Error(`another coral-pipe daemon answers on ${socketPath}`);
  await unlink(socketPath).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
  const server = net.createServer((conn) => {
    let request = '';
    conn.setEncoding('utf8');
    conn.on('error', () => conn.destroy());
    conn.on('data', (chunk: string) => {
      request += chunk;
      const end = request.indexOf('\n');
      if (end < 0) {
        if (request.length > MAX_REQUEST_BYTES) conn.destroy();
        return;
      }
      conn.removeAllListeners('data');
      void answer(request.slice(0, end)).then((reply) => conn.end(`${JSON.stringify(reply)}\n`));
    });
  });
  const answer = async (line: string): Promise<ReloadOutcome> => {
    let command: unknown;
    try {
      command = (JSON.parse(line) as { command?: unknown }).command;
    } catch {
      return { ok: false, errors: ['the request is not JSON'] };
    }
    if (command !== 'reload') return { ok: false, errors: [`unknown command ${JSON.stringify(command)}`] };
    return handlers.reload().catch((err: Error) => ({ ok: false, errors: [err.message] }));
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        // Node removes the socket file when the server closes.
        server.close(() => resolve());
      }),
  };
}

/** Asks the daemon at `socketPath` to reload and resolves with its outcome; rejects naming what failed. */
export function requestReload(socketPath: string, timeoutMs: number): Promise<ReloadOutcome> {
  return new Promise((resolve, reject) => {
    const conn = net.connect(socketPath);
    let reply = '';
    const fail = (why: string) => {
      conn.destroy();
      reject(new Error(why));
    };
    conn.setEncoding('utf8');
    conn.setTimeout(timeoutMs, () => fail(`no answer from the daemon on ${socketPath} within ${timeoutMs / 1000} s`));
    conn.once('connect', () => conn.write(`${JSON.stringify({ command: 'reload' })}\n`));
    conn.on('data', (chunk: string) => (reply += chunk));
    conn.once('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? 'no daemon listens there (not running, or still starting)' : err.message;
      fail(`cannot reach the daemon on ${socketPath}: ${why}`);
    });
    conn.once('end', () => {
      try {
        resolve(JSON.parse(reply) as ReloadOutcome);
      } catch {
        reject(new Error(`the daemon on ${socketPath} closed the connection without an answer`));
      }
    });
  });
}
