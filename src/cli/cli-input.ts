/** Reading a command's arguments and input files, with the errors a user can act on. */
import { readFile } from 'node:fs/promises';

export class InputFileError extends Error {
  override name = 'InputFileError';
}

/** The bytes of `file`; `what` says what it should be ("model", "image"). */
export async function readInputFile(file: string, what: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(file));
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new InputFileError(`cannot read ${what} file ${file}: ${reason}`, { cause: err });
  }
}

/** Runs `work`; an error it throws gets `FILE: ` put before its message, so the user sees which input. */
export async function aboutFile<T>(file: string, work: () => T | Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof Error && !err.message.includes(file)) err.message = `${file}: ${err.message}`;
    throw err;
  }
}
