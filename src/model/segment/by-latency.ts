/**
 * The `latency` strategy, a profiling partitioner: the slowest segment bounds a pipeline's throughput,
 * so it searches cut points that minimise the slowest segment's measured latency.
 *
 * 1. Profile once: time every operator as a one-operator segment, and the whole model. On the CPU a
 *    segment also pays for moving its input and output tensors in and out of the runtime, which is why
 *    n one-operator segments take much longer together than the whole model: that excess, divided by
 *    the extra bytes the one-operator segments move, prices a byte of segment I/O. An operator's own
 *    cost is its time less its I/O; a segment's predicted cost is its operators' costs plus its I/O.
 * 2. Split by dynamic programming: the contiguous split of the execution order whose most expensive
 *    segment is cheapest under that model (exact min-max, O(N·n²)).
 * 3. Check by real measurement of the chosen segments, then refine locally: move the slowest segment's
 *    boundaries by a few operators, measuring only segments not measured before (cached by range), and
 *    keep a move while it lowers the slowest measured segment.
 * 4. Stop when the gap between the best slowest segment (upper bound) and the lower bound (whole-model
 *    time / N: segments together never take less than the whole model) is under `gapRatio`, when no
 *    move helps, or when `maxCandidates` segments have been measured.
 */
import { operatorName } from '../graph.js';
import type { Model } from '../types.js';
import { checkSegmentCount } from './count.js';
import { rangeSegment, type Segment } from './cut-model.js';
import { SegmentationError } from './errors.js';
import { boundaryBytes } from './boundary-bytes.js';

/** Milliseconds one inference of `segment` takes on the engine that will run it. */
export type SegmentTimer = (segment: Segment) => Promise<number>;

export interface OperatorProfile {
  /** Milliseconds of each operator alone, by position in the execution order. */
  readonly operatorMs: readonly number[];
  /** Milliseconds of the whole model. */
  readonly wholeMs: number;
  /** Estimated milliseconds per byte of a segment's inputs and outputs. */
  readonly ioMsPerByte: number;
}

export interface LatencyOptions {
  readonly timer: SegmentTimer;
  /** A profile from `profileOperators` for the same model and order, to reuse across counts. */
  readonly profile?: OperatorProfile;
  /** Stop when (upper - lower) / upper is at most this (default 0.05). */
  readonly gapRatio?: number;
  /** Stop after measuring this many candidate segments (default 60). */
  readonly maxCandidates?: number;
  /** How many operators a refinement step moves a boundary at most (default 2). */
  readonly maxStep?: number;
}

export interface LatencyReport {
  /** Start positions in the execution order of each segment. */
  readonly starts: readonly number[];
  /** Measured milliseconds of each chosen segment. */
  readonly segmentMs: readonly number[];
  /** The split the dynamic program chose before refinement, and what the cost model predicted for it. */
  readonly initialStarts: readonly number[];
  readonly predictedMs: readonly number[];
  /** Distinct candidate segments measured (the per-operator profile not counted). */
  readonly candidatesMeasured: number;
  readonly operatorsProfiled: number;
  readonly lowerBoundMs: number;
  readonly upperBoundMs: number;
  /** Why the search ended. */
  readonly stoppedBecause: 'gap' | 'local-optimum' | 'budget';
  readonly profile: OperatorProfile;
}

async function timeRange(model: Model, order: readonly number[], start: number, end: number, timer: SegmentTimer): Promise<number> {
  const segment = rangeSegment(model, order, start, end);
  try {
    return await timer(segment);
  } catch (err) {
    const only = order[start]!;
    const what = end - start === 1
      ? `operator ${only} (${operatorName(model, model.subgraphs[0]!.operators[only]!)})`
      : `operators ${start}..${end - 1} of the execution order`;
    throw new SegmentationError(`cannot measure ${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/** Times every operator alone and the whole model once. */
export async function profileOperators(model: Model, order: readonly number[], timer: SegmentTimer): Promise<OperatorProfile> {
  const operatorMs: number[] = [];
  for (let i = 0; i < order.length; i++) operatorMs.push(await timeRange(model, order, i, i + 1, timer));
  const wholeMs = await timeRange(model, order, 0, order.length, timer);
  const io = boundaryBytes(model, order);
  const extraBytes = operatorMs.reduce((sum, _, i) => sum + io(i, i + 1), 0) - io(0, order.length);
  const extraMs = operatorMs.reduce((a, b) => a + b, 0) - wholeMs;
  return { operatorMs, wholeMs, ioMsPerByte: extraBytes > 0 ? Math.max(extraMs, 0) / extraBytes : 0 };
}

/**
 * Start positions of the `count`-segment contiguous split of `n` operators minimising the largest
 * `cost(from, to)` of a segment holding operators from..to-1.
 */
export function minMaxSplit(n: number, count: number, cost: (from: number, to: number) => number): number[] {
  checkSegmentCount(count, n);
  // best[j][i]: the least possible largest cost splitting the first i operators into j segments.
  const best: number[][] = [Array.from({ length: n + 1 }, (_, i) => (i === 0 ? 0 : Infinity))];
  const choice: number[][] = [[]];
  for (let j = 1; j <= count; j++) {
    best.push(new Array<number>(n + 1).fill(Infinity));
    choice.push(new Array<number>(n + 1).fill(0));
    for (let i = j; i <= n - (count - j); i++) {
      for (let k = j - 1; k < i; k++) {
        const value = Math.max(best[j - 1]![k]!, cost(k, i));
        if (value < best[j]![i]!) {
          best[j]![i] = value;
          choice[j]![i] = k;
        }
      }
    }
  }
  const starts: number[] = [];
  for (let j = count, i = n; j >= 1; j--) {
    i = choice[j]![i]!;
    starts.unshift(i);
  }
  return starts;
}

export async function splitByLatency(model: Model, order: readonly number[], count: number, options: LatencyOptions): Promise<LatencyReport> {
  checkSegmentCount(count, order.length);
  const { timer } = options;
  const gapRatio = options.gapRatio ?? 0.05;
  const maxCandidates = options.maxCandidates ?? 60;
  const maxStep = options.maxStep ?? 2;
  const profile = options.profile ?? (await profileOperators(model, order, timer));
  if (profile.operatorMs.length !== order.length) {
    throw new SegmentationError(`the profile has ${profile.operatorMs.length} operators but the model ${order.length}`);
  }
  const io = boundaryBytes(model, order);
  const prefix = [0];
  profile.operatorMs.forEach((ms, i) => prefix.push(prefix[i]! + Math.max(ms - profile.ioMsPerByte * io(i, i + 1), 0)));
  const predict = (from: number, to: number) => prefix[to]! - prefix[from]! + profile.ioMsPerByte * io(from, to);

  const cache = new Map<string, number>();
  const measure = async (start: number, end: number) => {
    const key = `${start}:${end}`;
    let ms = cache.get(key);
    if (ms === undefined) {
      ms = await timeRange(model, order, start, end, timer);
      cache.set(key, ms);
    }
    return ms;
  };
  const measureAll = async (starts: readonly number[]) => {
    const out: number[] = [];
    for (const [i, s] of starts.entries()) out.push(await measure(s, starts[i + 1] ?? order.length));
    return out;
  };

  const first = minMaxSplit(order.length, count, predict);
  const predictedMs = first.map((s, i) => predict(s, first[i + 1] ?? order.length));
  let starts = first;
  let segmentMs = await measureAll(starts);
  const lowerBoundMs = profile.wholeMs / count;
  let stoppedBecause: LatencyReport['stoppedBecause'];

  for (;;) {
    const upper = Math.max(...segmentMs);
    if (upper - lowerBoundMs <= gapRatio * upper) {
      stoppedBecause = 'gap';
      break;
    }
    if (cache.size >= maxCandidates) {
      stoppedBecause = 'budget';
      break;
    }
    const slowest = segmentMs.indexOf(upper);
    const end = starts[slowest + 1] ?? order.length;
    const moves: number[][] = [];
    for (let step = 1; step <= maxStep && starts[slowest]! + step < end; step++) {
      // Hand the slowest segment's first operators to the one before, or its last to the one after.
      if (slowest > 0) moves.push(starts.map((s, i) => (i === slowest ? s + step : s)));
      if (slowest < count - 1) moves.push(starts.map((s, i) => (i === slowest + 1 ? s - step : s)));
    }
    let best: { starts: number[]; ms: number[] } | undefined;
    for (const move of moves) {
      if (cache.size >= maxCandidates) break;
      const ms = await measureAll(move);
      if (Math.max(...ms) < Math.max(...(best?.ms ?? segmentMs))) best = { starts: move, ms };
    }
    if (!best) {
      stoppedBecause = cache.size >= maxCandidates ? 'budget' : 'local-optimum';
      break;
    }
    starts = best.starts;
    segmentMs = best.ms;
  }
  return {
    starts,
    segmentMs,
    initialStarts: first,
    predictedMs,
    candidatesMeasured: cache.size,
    operatorsProfiled: order.length,
    lowerBoundMs,
    upperBoundMs: Math.max(...segmentMs),
    stoppedBecause,
    profile,
  };
}
