/**
 * Measures one layout for real: the model cut as the layout says, one runner with the layout's
 * replicas, items run through `runner.run` with as many in flight as the runner holds (as a busy
 * daemon would keep it), after a warm-up; items/s over the measured items, latency per item, and each
 * segment's mean engine time, which the mixes are derived from (layouts.ts).
 */
import { readModel } from '../model/read-model.js';
import { segmentModel } from '../model/segment/index.js';
import { writeModel } from '../model/write-model.js';
import { engineTimer } from '../devices/segment-timer.js';
import { PipelinedModelRunner } from '../pipeline/runner.js';
import type { NamedTensors } from '../tensors/tensor.js';
import type { Layout } from './layouts.js';
import type { Measurement } from './ranking.js';

export interface LayoutRun extends Measurement {
  /** Each segment's mean engine time on one device, in ms. */
  readonly segmentMs: readonly number[];
}

export interface MeasureOptions {
  /** The inputs every item takes (the same for every layout, so that they compare). */
  readonly inputs: NamedTensors;
  readonly items: number;
  readonly warmup: number;
}

/** The segments' bytes for `layout`: the whole model, or its cut. */
async function segmentsOf(model: Uint8Array, layout: Layout): Promise<Uint8Array[]> {
  const count = layout.replicas.length;
  if (count === 1) return [model];
  const parsed = readModel(model);
  const request = layout.strategy === 'latency' ? { strategy: 'latency' as const, count, timer: engineTimer() } : { strategy: 'params' as const, count };
  return (await segmentModel(parsed, request)).segments.map((s) => writeModel(s.model));
}

const percentile = (sorted: readonly number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

export async function measureLayout(model: Uint8Array, layout: Layout, options: MeasureOptions): Promise<LayoutRun> {
  const runner = await PipelinedModelRunner.create(await segmentsOf(model, layout), { replicas: layout.replicas });
  try {
    const runItems = async (count: number): Promise<number[]> => {
      const latencies: number[] = [];
      let started = 0;
      const lane = async () => {
        while (started < count) {
          started++;
          const at = performance.now();
          runner.release(await runner.run(options.inputs));
          latencies.push(performance.now() - at);
        }
      };
      await Promise.all(Array.from({ length: runner.inFlightLimit }, lane));
      return latencies;
    };
    await runItems(options.warmup);
    const from = performance.now();
    const latencies = (await runItems(options.items)).sort((a, b) => a - b);
    const seconds = (performance.now() - from) / 1000;
    return {
      layout,
      itemsPerSecond: options.items / seconds,
      p50Ms: percentile(latencies, 0.5),
      p99Ms: percentile(latencies, 0.99),
      segmentMs: runner.stats().segments.map((s) => s.busyMsMean),
    };
  } finally {
    await runner.close();
  }
}
