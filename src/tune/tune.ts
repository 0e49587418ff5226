/**
 * `coral-pipe tune`'s core: measures the base layouts (layouts.ts) one after the other on the same
 * inputs, then the mixes their measurements suggest, within a time budget, and ranks what it measured
 * (ranking.ts). A candidate that by halfway runs at under half the best rate so far is not worth
 * finishing: it stops there and says so. A layout whose segments cannot be had (layout-segments.ts)
 * is listed with the reason.
 */
import type { NamedTensors } from '../tensors/tensor.js';
import { describeLayout, type Layout } from '../pipeline/layout.js';
import { baseLayouts, mixedLayouts } from './layouts.js';
import type { SegmentSupply } from './layout-segments.js';
import { measureLayout, type LayoutRun, type Placement } from './measure.js';
import { rankLayouts, type Objective, type Ranking } from './ranking.js';

export interface TuneOptions {
  /** Where each layout's segments come from. */
  readonly supply: SegmentSupply;
  /** The devices it may use, and how they are found and leased. */
  readonly placement: Placement;
  readonly objective: Objective;
  readonly maxP99Ms?: number;
  /** No new candidate starts after this many seconds. */
  readonly budgetSeconds: number;
  readonly inputs: NamedTensors;
  /** Items per candidate, after `warmup` items. */
  readonly items: number;
  readonly warmup: number;
  /** Called as each candidate starts and ends, for a progress line. */
  readonly progress?: (event: { readonly layout: string; readonly index: number; readonly of: number; readonly done?: LayoutRun }) => void;
}

export interface TuneReport extends Ranking {
  readonly runs: readonly LayoutRun[];
  /** Candidates not measured, and why. */
  readonly skipped: readonly { readonly layout: string; readonly why: string }[];
}

/** Stops a candidate running at under this share of the best rate so far. */
const GIVE_UP_SHARE = 0.5;

export async function tune(options: TuneOptions): Promise<TuneReport> {
  const started = performance.now();
  const runs: LayoutRun[] = [];
  const skipped: { layout: string; why: string }[] = [];
  const best = () => Math.max(0, ...runs.filter((r) => !r.stoppedEarly).map((r) => r.itemsPerSecond));
  const measureAll = async (layouts: readonly Layout[], offset: number, of: number) => {
    for (const [i, layout] of layouts.entries()) {
      const name = describeLayout(layout);
      // The first candidate always runs: a tune that measured nothing says nothing.
      if (runs.length > 0 && (performance.now() - started) / 1000 > options.budgetSeconds) {
        skipped.push({ layout: name, why: `the ${options.budgetSeconds} s budget was spent` });
        continue;
      }
      const prepared = await options.supply.prepare(layout);
      if ('skip' in prepared) {
        skipped.push({ layout: name, why: prepared.skip });
        continue;
      }
      options.progress?.({ layout: name, index: offset + i, of });
      const run = await measureLayout(prepared, layout, options.placement, {
        inputs: options.inputs,
        items: options.items,
        warmup: options.warmup,
        giveUp: (rate) => options.objective === 'throughput' && rate < GIVE_UP_SHARE * best(),
      });
      runs.push(run);
      options.progress?.({ layout: name, index: offset + i, of, done: run });
    }
  };
  const devices = options.placement.deviceIds.length;
  const base = baseLayouts(devices);
  await measureAll(base, 0, base.length);
  const mixes = mixedLayouts(devices, runs);
  await measureAll(mixes, base.length, base.length + mixes.length);
  return { ...rankLayouts(runs, options.objective, options.maxP99Ms), runs, skipped };
}
