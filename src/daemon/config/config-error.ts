/** One thing wrong with a config file, located so that an editor can jump to it. */
export interface ConfigProblem {
  readonly file: string;
  /** 1-based; 0 when the problem has no place in the file (e.g. the file is unreadable). */
  readonly line: number;
  readonly column: number;
  /** Dotted field path such as `cameras.front.topics[0]`, empty for the whole document. */
  readonly path: string;
  readonly message: string;
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.column}` : p.file;
  return `${where}: ${p.path === '' ? '' : `${p.path}: `}${p.message}`;
}

/** What went wrong loading a config, one line a problem: a ConfigError's located problems, else the error's message. */
export function problemLines(err: unknown): string[] {
  if (err instanceof ConfigError) return err.problems.map(formatProblem);
  return [String((err as Error).message ?? err)];
}

/** A config that cannot be used; `problems` lists every reason, each naming file, line and field. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
  }
}
