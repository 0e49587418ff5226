/**
 * The layouts `coral-pipe tune` measures for a model on D devices: pipelines of 1..D segments cut by
 * parameter bytes (the Edge TPU compiler's rule) or by measured latency, whole-model replicas (data
 * parallelism), and mixes: fewer segments than devices, the spare devices going as replicas to the
 * segments that hold the pipeline back, which only a measurement of the pure pipeline can tell.
 */
import type { Layout } from '../pipeline/layout.js';

/** The layouts to measure first: every pure pipeline and every count of whole-model replicas. */
export function baseLayouts(devices: number): Layout[] {
  if (!Number.isInteger(devices) || devices < 1) throw new RangeError(`tune needs at least one device, got ${devices}`);
  const layouts: Layout[] = [{ replicas: [1] }];
  for (let k = 2; k <= devices; k++) layouts.push({ replicas: [k] });
  for (let n = 2; n <= devices; n++) {
    for (const strategy of ['params', 'latency'] as const) layouts.push({ strategy, replicas: Array(n).fill(1) });
  }
  return layouts;
}

/**
 * Replicas per segment when `spare` more devices join a pipeline whose segments take `segmentMs` each
 * on one device: each spare device goes, in turn, to the segment whose time per replica is then the
 * longest (ties: the earlier segment), since that segment bounds the pipeline's rate.
 */
export function assignSpares(segmentMs: readonly number[], spare: number): number[] {
  const replicas = segmentMs.map(() => 1);
  for (let s = 0; s < spare; s++) {
    let slowest = 0;
    for (let i = 1; i < segmentMs.length; i++) if (segmentMs[i]! / replicas[i]! > segmentMs[slowest]! / replicas[slowest]!) slowest = i;
    replicas[slowest]!++;
  }
  return replicas;
}

/** The mixes to measure once the pure pipelines of fewer segments than devices have been measured. */
export function mixedLayouts(devices: number, measured: readonly { layout: Layout; segmentMs: readonly number[] }[]): Layout[] {
  const mixes: Layout[] = [];
  for (const { layout, segmentMs } of measured) {
    const n = layout.replicas.length;
    if (n < 2 || n >= devices || layout.replicas.some((r) => r !== 1)) continue;
    mixes.push({ ...layout, replicas: assignSpares(segmentMs, devices - n) });
  }
  return mixes;
}
