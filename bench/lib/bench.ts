/** What a benchmark module exports (as default), so that `npm run bench` can run them all. */
export interface BenchResult {
  /** One row per measured configuration; the keys are the table's columns. */
  readonly rows: readonly Record<string, string | number>[];
  /** Goals, bounds and anything else a reader needs beside the numbers. */
  readonly notes: readonly string[];
}

export interface BenchSection extends BenchResult {
  readonly title: string;
}

export interface BenchModule {
  readonly name: string;
  run(): Promise<readonly BenchSection[]>;
}
