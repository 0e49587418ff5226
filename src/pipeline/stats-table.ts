/** Plain-text tables for the `run` command and the benchmarks. */
import type { PipelineStats } from './stats.js';

/** Columns padded to their widest cell; numbers (cells starting with a digit) right-aligned. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, c) => (/^[\d.-]/.test(cell) && c > 0 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}

const ms = (v: number) => v.toFixed(3);

export function segmentStatsTable(stats: PipelineStats): string {
  return formatTable(
    ['segment', 'devices', 'count', 'failed', 'busy ms', 'mean ms', 'p50 ms', 'p99 ms', 'queue', 'queue max'],
    stats.segments.map((s) => [
      s.name,
      s.devices.join(','),
      String(s.count),
      String(s.failures),
      s.busyMsTotal.toFixed(1),
      ms(s.busyMsMean),
      ms(s.latencyMsP50),
      ms(s.latencyMsP99),
      String(s.queueDepth),
      String(s.queueDepthMax),
    ]),
  );
}
