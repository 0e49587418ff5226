/** Percentiles over the most recent samples, in a fixed ring so that recording allocates nothing. */
export class RecentSamples {
  private readonly ring: Float64Array;
  private count = 0;

  constructor(capacity = 4096) {
    this.ring = new Float64Array(capacity);
  }

  add(value: number): void {
    this.ring[this.count++ % this.ring.length] = value;
  }

  /** The p-th percentile (0..100, nearest rank) of the samples kept; 0 when there are none. */
  percentile(p: number): number {
    const n = Math.min(this.count, this.ring.length);
    if (n === 0) return 0;
    const sorted = this.ring.slice(0, n).sort();
    return sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]!;
  }
}

/** One executor (replica) of a segment: its share of the segment's counts and engine time. */
export interface ExecutorStats {
  readonly device: string;
  readonly count: number;
  readonly failures: number;
  readonly busyMsTotal: number;
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
  /** From hand-off to the executor to its answer (engine time plus hand-off cost). */
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
