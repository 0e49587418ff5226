/** Waiting for a child process's IPC messages (the simulated cameras'). */
import type { ChildProcess } from 'node:child_process';

/** Resolves with the next IPC message of `child` that `match`es; rejects if it exits first. */
export function message<T>(child: ChildProcess, match: (m: unknown) => m is T): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: unknown) => {
      if (!match(m)) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(m);
    };
    const onExit = (code: number | null) => reject(new Error(`camera fleet exited with ${code} before reporting`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}
