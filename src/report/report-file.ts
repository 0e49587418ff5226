/**
 * What a report holds: sections of rows, notes and charts, and the file around them (`npm run bench`'s
 * JSON, `coral-pipe tune --report`'s). report-page.ts draws it.
 */
export interface ReportSection {
  readonly title: string;
  /** One row per measured configuration; the keys are the table's columns. */
  readonly rows: readonly Record<string, string | number>[];
  /** Goals, bounds and anything else a reader needs beside the numbers. */
  readonly notes: readonly string[];
  /** What the report draws from this section (the rows are always shown as a table too). */
  readonly charts?: readonly Chart[];
}

/** Grouped bars: one group per category, one bar per series (null = not measured). */
export interface BarChart {
  readonly kind: 'bars';
  readonly title: string;
  readonly yLabel: string;
  readonly categories: readonly string[];
  readonly series: readonly {
    readonly label: string;
    readonly values: readonly (number | null)[];
    /** Per category, the least and most of the runs whose median the bar shows: drawn as a whisker. */
    readonly ranges?: readonly (readonly [number, number] | null)[];
  }[];
  /** A horizontal line to compare the bars with, e.g. the single executor's throughput. */
  readonly reference?: { readonly label: string; readonly value: number };
}

/** Lines over a numeric x axis, e.g. seconds since the start of a run. */
export interface LineChart {
  readonly kind: 'lines';
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly {
    readonly label: string;
    readonly points: readonly (readonly [number, number])[];
    /** Series that belong together (e.g. p50 and p99 of one run) share a colour; the second is dashed. */
    readonly colourIndex?: number;
    readonly dashed?: boolean;
  }[];
}

export type Chart = BarChart | LineChart;

/** The JSON file `npm run bench` (or `tune --report`) writes, and what the report is made from. */
export interface ReportFile {
  /** The page's heading, e.g. `coral-pipe benchmarks`. */
  readonly title: string;
  readonly date: string;
  readonly command: string;
  readonly quick: boolean;
  readonly machine: Readonly<Record<string, string | number>>;
  readonly results: Readonly<Record<string, readonly ReportSection[] | { readonly error: string }>>;
  /** Seconds each module took. */
  readonly durations?: Readonly<Record<string, number>>;
  /** Cores other processes on the machine kept busy on average while each module ran. */
  readonly otherLoad?: Readonly<Record<string, number>>;
}
