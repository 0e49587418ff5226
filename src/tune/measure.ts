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
  /** Given up halfway because it could not win (MeasureOptions.giveUp): the figures cover half the items. */
  readonly stoppedEarly?: boolean;
}

export interface MeasureOptions {
  /** The inputs every item takes (the same for every layout, so that they compare). */
  readonly inputs: NamedTensors;
  readonly items: number;
  readonly warmup: number;
  /** Asked once, halfway, with the rate so far: true stops the measurement there. */
  readonly giveUp?: (itemsPerSecondSoFar: number) => boolean;
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
    const latencies: number[] = [];
    /** Runs `count` items with the runner kept full; resolves with the seconds they took. */
    const runItems = async (count: number, keep: boolean): Promise<number> => {
      const from = performance.now();
      let started = 0;
      const lane = async () => {
        while (started < count) {
          started++;
          const at = performance.now();
          runner.release(await runner.run(options.inputs));
          if (keep) latencies.push(performance.now() - at);
        }
      };
      await Promise.all(Array.from({ length: runner.inFlightLimit }, lane));
      return (performance.now() - from) / 1000;
    };
    await runItems(options.warmup, false);
    const half = Math.ceil(options.items / 2);
    const firstHalf = await runItems(half, true);
    const stoppedEarly = options.giveUp?.(half / firstHalf) ?? false;
    const seconds = stoppedEarly ? firstHalf : firstHalf + (await runItems(options.items - half, true));
    latencies.sort((a, b) => a - b);
    return {
      layout,
      itemsPerSecond: latencies.length / seconds,
      p50Ms: percentile(latencies, 0.5),
      p99Ms: percentile(latencies, 0.99),
      segmentMs: runner.stats().segments.map((s) => s.busyMsMean),
      ...(stoppedEarly && { stoppedEarly }),
    };
  } finally {
    await runner.close();
  }
}
