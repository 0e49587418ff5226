/**
 * Measures one layout for real: its segments placed on the devices the layout gives each (Edge TPUs
 * leased while it runs, as `coral-pipe run` does), one runner, items run through `runner.run` with as
 * many in flight as the runner holds (as a busy daemon would keep it), after a warm-up; items/s over
 * the measured items, latency per item, and each segment's mean engine time, which the mixes are
 * derived from (layouts.ts).
 */
import { acquireLeases, type LeaseOptions } from '../devices/lease.js';
import { runnerInput, type PlacementContext } from '../devices/placement.js';
import { PipelinedModelRunner } from '../pipeline/runner.js';
import { RecentSamples } from '../pipeline/stats.js';
import type { NamedTensors } from '../tensors/tensor.js';
import { devicesSetting, type Layout } from '../pipeline/layout.js';
import type { LayoutSegments } from './layout-segments.js';
import type { Measurement } from './ranking.js';

export interface LayoutRun extends Measurement {
  /** Each segment's mean engine time on one device, in ms. */
  readonly segmentMs: readonly number[];
  /** Whether every segment's parameters fit the Edge TPU's on-chip cache; undefined when not known. */
  readonly fitsOnChip?: boolean;
  /** Parameter bytes the Edge TPUs stream from the host, as edgetpu_compiler reported them. */
  readonly offChipBytes?: number;
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

export interface Placement {
  /** The devices tune may use, in order: a layout takes as many as it needs from the front. */
  readonly deviceIds: readonly string[];
  /** The device scan (enumerateDevices by default) and where Edge TPU leases go. */
  readonly enumerate?: PlacementContext['enumerate'];
  readonly leases?: LeaseOptions;
}

/** All true, else false if any is false, else undefined. */
const allFit = (fits: readonly (boolean | undefined)[]) => (fits.includes(false) ? false : fits.includes(undefined) ? undefined : true);

export async function measureLayout(prepared: LayoutSegments, layout: Layout, placement: Placement, options: MeasureOptions): Promise<LayoutRun> {
  let leases: { release(): void } | undefined;
  try {
    const input = await runnerInput(prepared.segments, devicesSetting(layout, placement.deviceIds), {
      ...(placement.enumerate && { enumerate: placement.enumerate }),
      claim: (ids) => {
        leases = acquireLeases(ids, placement.leases);
      },
    });
    const runner = await PipelinedModelRunner.create(input.segments, { ...(input.devices && { devices: input.devices }) });
    try {
      const fits = allFit(prepared.fitsOnChip);
      return {
        ...(await runLayout(runner, layout, options)),
        ...(fits !== undefined && { fitsOnChip: fits }),
        ...(prepared.offChipBytes !== undefined && { offChipBytes: prepared.offChipBytes }),
      };
    } finally {
      await runner.close();
    }
  } finally {
    leases?.release();
  }
}

/** `options.items` through the runner, kept full, after a warm-up. */
async function runLayout(runner: PipelinedModelRunner, layout: Layout, options: MeasureOptions): Promise<LayoutRun> {
  const latencies = new RecentSamples(options.items);
  /** Runs `count` items with the runner kept full; resolves with the seconds they took. */
  const runItems = async (count: number, keep: boolean): Promise<number> => {
    const from = performance.now();
    let started = 0;
    const lane = async () => {
      while (started < count) {
        started++;
        const at = performance.now();
        runner.release(await runner.run(options.inputs));
        if (keep) latencies.add(performance.now() - at);
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
  return {
    layout,
    itemsPerSecond: (stoppedEarly ? half : options.items) / seconds,
    p50Ms: latencies.percentile(50),
    p99Ms: latencies.percentile(99),
    segmentMs: runner.stats().segments.map((s) => s.busyMsMean),
    ...(stoppedEarly && { stoppedEarly }),
  };
}
