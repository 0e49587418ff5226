/** One `coral-pipe` sub-command. Each lives in its own file under commands/ and is listed in main.ts. */
export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** The usage line(s) printed by `coral-pipe help NAME` and on bad arguments. */
  readonly usage: string;
  /** Runs the command; resolves with the process exit code. Throw UsageError for bad arguments. */
  run(argv: string[]): Promise<number>;
}

/** Bad command-line arguments: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
