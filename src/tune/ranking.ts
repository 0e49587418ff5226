/**
 * Which measured layout `coral-pipe tune` recommends, and why, in one line: by throughput (items/s,
 * among those within the p99 bound when one is given) or by latency (p50).
 */
import { describeLayout, type Layout } from '../pipeline/layout.js';

export interface Measurement {
  readonly layout: Layout;
  readonly itemsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export type Objective = 'throughput' | 'latency';

export interface Ranking {
  /** Best first; those over the p99 bound left out. */
  readonly ranked: readonly Measurement[];
  /** Over the p99 bound. */
  readonly excluded: readonly Measurement[];
  /** One line naming the choice and its reason; undefined when nothing qualifies. */
  readonly recommendation?: string;
}

const isPurePipeline = (m: Measurement) => m.layout.replicas.every((r) => r === 1);

export function rankLayouts(measurements: readonly Measurement[], objective: Objective, maxP99Ms?: number): Ranking {
  const within = (m: Measurement) => maxP99Ms === undefined || m.p99Ms <= maxP99Ms;
  const better = objective === 'throughput'
    ? (a: Measurement, b: Measurement) => b.itemsPerSecond - a.itemsPerSecond || a.p99Ms - b.p99Ms
    : (a: Measurement, b: Measurement) => a.p50Ms - b.p50Ms || b.itemsPerSecond - a.itemsPerSecond;
  const ranked = measurements.filter(within).sort(better);
  const excluded = measurements.filter((m) => !within(m));
  const best = ranked[0];
  if (best === undefined) return { ranked, excluded };
  const name = describeLayout(best.layout);
  const bound = maxP99Ms === undefined ? '' : ` within p99 ${maxP99Ms} ms`;
  if (objective === 'latency') return { ranked, excluded, recommendation: `${name}: p50 ${best.p50Ms.toFixed(1)} ms, the lowest${bound}` };
  const pipeline = ranked.find(isPurePipeline);
  const versus = pipeline === undefined || pipeline === best
    ? `the highest throughput${bound}`
    : `${(best.itemsPerSecond / pipeline.itemsPerSecond).toFixed(2)}x the best pure pipeline (${describeLayout(pipeline.layout)})${bound}`;
  return { ranked, excluded, recommendation: `${name}: ${best.itemsPerSecond.toFixed(1)} items/s, ${versus}` };
}
