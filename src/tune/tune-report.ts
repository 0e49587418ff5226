/**
 * What tune measured as a report section (src/report): a row per layout and two charts, items/s and
 * latency per layout, with the whole model on one device as the line to beat.
 */
import type { ReportSection } from '../report/report-file.js';
import { describeLayout, devicesOf } from '../pipeline/layout.js';
import type { LayoutRun } from './measure.js';
import type { TuneReport } from './tune.js';

export function tuneSection(report: TuneReport, notes: readonly string[]): ReportSection {
  const runs = [...report.ranked, ...report.excluded] as LayoutRun[];
  const names = runs.map((r) => describeLayout(r.layout));
  const single = runs.find((r) => r.layout.replicas.length === 1 && r.layout.replicas[0] === 1);
  // The compiler's figure, where tune compiled the segments itself.
  const compiled = runs.some((r) => r.offChipBytes !== undefined);
  return {
    title: 'Layouts measured, best first',
    rows: runs.map((r, i) => ({
      layout: names[i]!,
      devices: devicesOf(r.layout),
      'items/s': r.itemsPerSecond,
      'p50 ms': r.p50Ms,
      'p99 ms': r.p99Ms,
      'slowest segment ms': Math.max(...r.segmentMs),
      'mean segment ms': r.segmentMs.reduce((a, b) => a + b, 0) / r.segmentMs.length,
      'fits on chip': r.fitsOnChip === undefined ? '?' : r.fitsOnChip ? 'yes' : 'no',
      ...(compiled && { 'off-chip MiB': r.offChipBytes === undefined ? '?' : r.offChipBytes / 2 ** 20 }),
      note: report.excluded.includes(r) ? 'over the p99 bound' : r.stoppedEarly ? 'stopped halfway' : '',
    })),
    notes: [
      ...notes,
      ...report.skipped.map((s) => `not measured: ${s.layout}: ${s.why}`),
      report.recommendation === undefined ? 'no layout qualifies' : `best: ${report.recommendation}`,
    ],
    charts: [
      {
        kind: 'bars',
        title: 'Throughput per layout',
        yLabel: 'items/s',
        categories: names,
        series: [{ label: 'items/s', values: runs.map((r) => r.itemsPerSecond) }],
        ...(single && { reference: { label: 'whole model, one device', value: single.itemsPerSecond } }),
      },
      {
        kind: 'bars',
        title: 'Latency per layout',
        yLabel: 'ms',
        categories: names,
        series: [
          { label: 'p50', values: runs.map((r) => r.p50Ms) },
          { label: 'p99', values: runs.map((r) => r.p99Ms) },
        ],
      },
    ],
  };
}
