/** What a benchmark module exports (as default), so that `npm run bench` can run them all. */
import type { ReportSection } from '../../src/report/report-file.js';

export interface BenchOptions {
  /** A smoke run: fewer items and shorter durations; the figures are not worth publishing. */
  readonly quick: boolean;
}

export interface BenchModule {
  readonly name: string;
  run(options: BenchOptions): Promise<readonly ReportSection[]>;
}
