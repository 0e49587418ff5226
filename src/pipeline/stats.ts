/**
 * Percentiles over the most recent samples, in a fixed ring so that recording allocates nothing. The
 * ring may live in shared memory, written by one thread (an executor) and read by another.
 */
export class RecentSamples {
  /** Cell 0: samples recorded so far; then the ring. */
  private readonly cells: Float64Array;

  constructor(capacity = 4096, readonly buffer: ArrayBufferLike = new ArrayBuffer((capacity + 1) * 8)) {
    this.cells = new Float64Array(buffer);
  }

  /** A ring of `capacity` samples in shared memory, to hand to another thread. */
  static shared(capacity = 4096): RecentSamples {
    return new RecentSamples(capacity, new SharedArrayBuffer((capacity + 1) * 8));
  }

  add(value: number): void {
    const count = this.cells[0]!;
    this.cells[1 + (count % (this.cells.length - 1))] = value;
    this.cells[0] = count + 1;
  }

  /** The p-th percentile (0..100, nearest rank) of the samples kept; 0 when there are none. */
  percentile(p: number): number {
    return percentileOf([this], p);
  }

  private kept(): Float64Array {
    return this.cells.subarray(1, 1 + Math.min(this.cells[0]!, this.cells.length - 1));
  }

  /** The samples of several rings together (a segment's replicas). */
  static merged(rings: readonly RecentSamples[]): Float64Array {
    const kept = rings.map((r) => r.kept());
    const all = new Float64Array(kept.reduce((n, k) => n + k.length, 0));
    let at = 0;
    for (const k of kept) {
      all.set(k, at);
      at += k.length;
    }
    return all;
  }
}

/** The p-th percentile (0..100, nearest rank) of the samples the rings keep together; 0 when there are none. */
export function percentileOf(rings: readonly RecentSamples[], p: number): number {
  const sorted = RecentSamples.merged(rings).sort();
  const n = sorted.length;
  if (n === 0) return 0;
  return sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]!;
}

/** One executor (replica) of a segment: its share of the segment's counts and engine time. */
export interface ExecutorStats {
  readonly device: string;
  readonly count: number;
  readonly failures: number;
  readonly busyMsTotal: number;
  /** Time it waited for an item, and held a finished one while the next queue was full. */
  readonly idleMsTotal: number;
  readonly blockedMsTotal: number;
}

export interface SegmentStats {
  readonly name: string;
  readonly devices: readonly string[];
  /** Per executor, in the order of `devices`. */
  readonly executors: readonly ExecutorStats[];
  /** Inferences that completed, and those that failed. */
  readonly count: number;
  readonly failures: number;
  /** Engine time measured in the executors. */
  readonly busyMsTotal: number;
  readonly busyMsMean: number;
  /** Its executors' time waiting for items (the segments before are slower) and held by a full next queue (those after are). */
  readonly idleMsTotal: number;
  readonly blockedMsTotal: number;
  /** From the executor taking the item to its result being ready (engine time plus the executor's own cost). */
  readonly latencyMsP50: number;
  readonly latencyMsP99: number;
  /** Items waiting for this segment now, and at most so far. */
  readonly queueDepth: number;
  readonly queueDepthMax: number;
}

export interface PipelineStats {
  readonly segments: readonly SegmentStats[];
  readonly pushed: number;
  readonly popped: number;
  /** Items accepted and not yet popped. */
  readonly inFlight: number;
  /** Outputs popped as views of the pipeline's memory and not released yet. */
  readonly outputsHeld: number;
  /** Bytes of the slabs those items and held outputs occupy. */
  readonly bytesHeld: number;
  /** Distinct slabs the runner has used: a steady stream whose outputs are released reuses a few. */
  readonly slabsUsed: number;
  /** Push accepted to output ready. */
  readonly latencyMsP50: number;
  readonly latencyMsP99: number;
}
