/** One segment's place in the pipeline: its executors (replicas), the items waiting for it and its counters. */
import type { ResolvedSegment } from './segment-source.js';
import type { SegmentStats } from './stats.js';
import { RecentSamples } from './stats.js';
import type { WorkerExecutor } from './worker-executor.js';

export interface Item {
  readonly seq: number;
  slab: SharedArrayBuffer | undefined;
  readonly pushedAt: number;
  error?: Error;
}

/**
 * Items posted to one executor at a time: the second waits inside the worker, so the worker starts it
 * without a round trip to this thread.
 */
export const SLOT_DEPTH = 2;

export interface Slot {
  readonly executor: WorkerExecutor;
  /** Items posted to the executor, oldest (running) first, and when the oldest started. */
  readonly running: Item[];
  startedAt: number;
  /** Finished items the next queue had no room for: the slot takes no work until they move on. */
  readonly blocked: Item[];
  /** This executor's share of the stage's counters. */
  count: number;
  failures: number;
  busyMs: number;
}

export interface Stage {
  readonly index: number;
  readonly name: string;
  /** How errors name it: `segment 1 (file.tflite)`. */
  readonly label: string;
  readonly slots: Slot[];
  /** Items waiting for this stage. */
  readonly queue: Item[];
  queueMax: number;
  count: number;
  failures: number;
  busyMs: number;
  readonly latency: RecentSamples;
}

export function newStage(index: number, segment: ResolvedSegment, executors: readonly WorkerExecutor[]): Stage {
  return {
    index,
    name: segment.name,
    label: stageLabel(index, segment),
    slots: executors.map((executor) => ({ executor, running: [], startedAt: 0, blocked: [], count: 0, failures: 0, busyMs: 0 })),
    queue: [],
    queueMax: 0,
    count: 0,
    failures: 0,
    busyMs: 0,
    latency: new RecentSamples(),
  };
}

/** How errors name a segment: its position, and its file when it has one. */
export function stageLabel(index: number, segment: ResolvedSegment): string {
  return segment.name === `segment ${index}` ? segment.name : `segment ${index} (${segment.name})`;
}

/** The unblocked slot with the fewest items posted, if one has room. */
export function freeSlot(stage: Stage): Slot | undefined {
  let free: Slot | undefined;
  for (const slot of stage.slots) {
    if (slot.blocked.length === 0 && slot.running.length < SLOT_DEPTH && (!free || slot.running.length < free.running.length)) {
      free = slot;
    }
  }
  return free;
}

/**
 * Takes the executor's oldest item off it, recording its latency; the next one starts now. Undefined
 * if `seq` is not that item (an answer from before a failure).
 */
export function settle(stage: Stage, slot: Slot, seq: number): Item | undefined {
  if (slot.running[0]?.seq !== seq) return undefined;
  const now = performance.now();
  const item = slot.running.shift()!;
  stage.latency.add(now - slot.startedAt);
  slot.startedAt = now;
  return item;
}

export function segmentStats(stage: Stage): SegmentStats {
  return {
    name: stage.name,
    devices: stage.slots.map((slot) => slot.executor.device),
    executors: stage.slots.map((slot) => ({ device: slot.executor.device, count: slot.count, failures: slot.failures, busyMsTotal: slot.busyMs })),
    count: stage.count,
    failures: stage.failures,
    busyMsTotal: stage.busyMs,
    busyMsMean: stage.count > 0 ? stage.busyMs / stage.count : 0,
    latencyMsP50: stage.latency.percentile(50),
    latencyMsP99: stage.latency.percentile(99),
    queueDepth: stage.queue.length,
    queueDepthMax: stage.queueMax,
  };
}
