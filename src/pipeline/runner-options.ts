/** The runner's options and the limits they resolve to. */
import type { ChainOptions } from '../model/segment/chain.js';
import type { SegmentDevices } from './segment-source.js';
import type { SlabAllocator } from './slabs.js';

export interface RunnerOptions extends SegmentDevices, ChainOptions {
  /** Items accepted by push and waiting for the first segment (default 4). */
  readonly inputQueueLimit?: number;
  /** Items finished by one segment and waiting for the next (default 4). */
  readonly stageQueueLimit?: number;
  /** Room for items finished and waiting for pop, counted in the in-flight limit (default 4). */
  readonly outputQueueLimit?: number;
  /**
   * Popped outputs not yet released that may still view the pipeline's memory (default 4). Beyond it
   * pop returns copies and takes the memory back at once, so a caller who never releases cannot grow it.
   */
  readonly heldOutputLimit?: number;
  /** Most bytes of item slabs in flight (default 256 MiB); push waits beyond it. */
  readonly byteBudget?: number;
  /** An executor that has not answered after this long fails the pipeline as hung (default 60 s; 0 = never). */
  readonly hangTimeoutMs?: number;
  /** An engine that has not opened after this long fails create (default 60 s; 0 = never). */
  readonly openTimeoutMs?: number;
  /** Where item slabs come from (default: a reusing pool). */
  readonly allocator?: SlabAllocator;
}

const DEFAULTS = {
  inputQueueLimit: 4,
  // 4, not 2: a queue that runs empty or full wakes a thread (10-20 us each); with 4 the pass-through
  // bench reached 0.68-0.78 of the bare worker chain against 0.59-0.62 with 2 (docs/benchmarks.md).
  stageQueueLimit: 4,
  outputQueueLimit: 4,
  heldOutputLimit: 4,
  byteBudget: 256 * 2 ** 20,
  hangTimeoutMs: 60_000,
  openTimeoutMs: 60_000,
};

export type RunnerLimits = Readonly<typeof DEFAULTS>;

/** The numeric options, defaulted; throws RangeError naming the first one out of range. */
export function runnerLimits(options: RunnerOptions): RunnerLimits {
  const limits = { ...DEFAULTS };
  for (const key of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
    const value = options[key];
    if (value === undefined) continue;
    const min = key === 'hangTimeoutMs' || key === 'openTimeoutMs' || key === 'heldOutputLimit' ? 0 : 1;
    // Integers only: a queue of 2.5 items or a budget of a fraction of a byte means nothing.
    if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`${key} must be an integer >= ${min}, got ${value}`);
    limits[key] = value;
  }
  return limits;
}
