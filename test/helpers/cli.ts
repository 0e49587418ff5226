/** Runs the built `coral-pipe` CLI (or another program) as a user would, in a child process. */
import { execFile, type ExecFileOptions } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The project root (this file runs as dist/test/helpers/cli.js). */
export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const cliPath = path.join(projectRoot, 'dist/src/cli/main.js');

/** A built module of src/ by its path there (`devices/lease.js`), for child processes and workers to import. */
export const builtModule = (file: string) => path.join(projectRoot, 'dist/src', file);

/** A built helper script of test/helpers (`session-child.js`), run as a child process or worker. */
export const helperScript = (file: string) => path.join(projectRoot, 'dist/test/helpers', file);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `file` to its end; a non-zero exit is a result to assert on, not a throw. */
export async function runProcess(file: string, args: readonly string[], options: ExecFileOptions = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)(file, args, { ...options, encoding: 'utf8' });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

export async function runCli(...args: string[]): Promise<CliResult> {
  return runProcess(process.execPath, [cliPath, ...args]);
}
