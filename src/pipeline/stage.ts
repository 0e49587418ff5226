/** One segment's place in the pipeline: its executors (replicas) and the queue of items waiting for them. */
import type { ResolvedSegment } from './segment-source.js';
import { SharedQueue } from './shared-queue.js';
import type { SegmentStats } from './stats.js';
import { percentileOf } from './stats.js';
import type { WorkerExecutor } from './worker-executor.js';

export interface Item {
  readonly seq: number;
  slab: SharedArrayBuffer | undefined;
  readonly pushedAt: number;
  error?: Error;
}

export interface Stage {
  readonly index: number;
  readonly name: string;
  /** How errors name it: `segment 1 (file.tflite)`. */
  readonly label: string;
  readonly executors: readonly WorkerExecutor[];
  /** Items waiting for this stage, put there by the runner (the first stage) or the stage before. */
  readonly queue: SharedQueue;
}

export function newStage(index: number, segment: ResolvedSegment, executors: readonly WorkerExecutor[], queueLimit: number): Stage {
  return { index, name: segment.name, label: stageLabel(index, segment), executors, queue: SharedQueue.create(queueLimit) };
}

/** How errors name a segment: its position, and its file when it has one. */
export function stageLabel(index: number, segment: ResolvedSegment): string {
  return segment.name === `segment ${index}` ? segment.name : `segment ${index} (${segment.name})`;
}

/** Items its executors have finished or failed so far. */
export function stageProgress(stage: Stage): number {
  return stage.executors.reduce((n, e) => n + e.counters.count + e.counters.failures, 0);
}

export function segmentStats(stage: Stage): SegmentStats {
  const executors = stage.executors.map(({ device, counters: c }) => ({
    device,
    count: c.count,
    failures: c.failures,
    busyMsTotal: c.busyMs,
    idleMsTotal: c.idleMs,
    blockedMsTotal: c.blockedMs,
  }));
  const total = (key: 'idleMsTotal' | 'blockedMsTotal') => executors.reduce((n, e) => n + e[key], 0);
  const count = executors.reduce((n, e) => n + e.count, 0);
  const busyMsTotal = executors.reduce((n, e) => n + e.busyMsTotal, 0);
  const latency = stage.executors.map((e) => e.counters.latency);
  return {
    name: stage.name,
    devices: stage.executors.map((e) => e.device),
    executors,
    count,
    failures: executors.reduce((n, e) => n + e.failures, 0),
    busyMsTotal,
    busyMsMean: count > 0 ? busyMsTotal / count : 0,
    idleMsTotal: total('idleMsTotal'),
    blockedMsTotal: total('blockedMsTotal'),
    latencyMsP50: percentileOf(latency, 50),
    latencyMsP99: percentileOf(latency, 99),
    queueDepth: stage.queue.length,
    queueDepthMax: stage.queue.lengthMax,
  };
}
