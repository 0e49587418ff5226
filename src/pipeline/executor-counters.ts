/**
 * One executor's counts, kept by its thread in shared memory and read by the runner's thread for
 * stats: items hand on from executor to executor without telling the runner, so no message carries them.
 */
import { RecentSamples } from './stats.js';

const COUNT = 0;
const FAILURES = 1;
const BUSY_MS = 2;
/** Waiting for an item to take, and holding a finished one while the next queue was full. */
const IDLE_MS = 3;
const BLOCKED_MS = 4;

export interface CounterBuffers {
  readonly counts: SharedArrayBuffer;
  readonly latency: SharedArrayBuffer;
}

export class ExecutorCounters {
  private readonly cells: Float64Array;
  /** From taking an item to its result being ready, per item. */
  readonly latency: RecentSamples;

  constructor(readonly buffers: CounterBuffers = { counts: new SharedArrayBuffer(5 * 8), latency: RecentSamples.shared().buffer as SharedArrayBuffer }) {
    this.cells = new Float64Array(buffers.counts);
    this.latency = new RecentSamples(buffers.latency.byteLength / 8 - 1, buffers.latency);
  }

  /** In the executor: an item finished (`ok`) or failed, its engine took `busyMs`, all of it `latencyMs`. */
  record(ok: boolean, busyMs: number, latencyMs: number): void {
    this.cells[ok ? COUNT : FAILURES] += 1;
    // Engine time of finished items only, so that busy / count is the mean invoke.
    if (ok) this.cells[BUSY_MS] += busyMs;
    this.latency.add(latencyMs);
  }

  /** In the executor: it waited `ms` for an item. */
  idle(ms: number): void {
    this.cells[IDLE_MS] += ms;
  }

  /** In the executor: it held a finished item `ms` while the next queue was full. */
  blocked(ms: number): void {
    this.cells[BLOCKED_MS] += ms;
  }

  get idleMs(): number {
    return this.cells[IDLE_MS]!;
  }

  get blockedMs(): number {
    return this.cells[BLOCKED_MS]!;
  }

  get count(): number {
    return this.cells[COUNT]!;
  }

  get failures(): number {
    return this.cells[FAILURES]!;
  }

  get busyMs(): number {
    return this.cells[BUSY_MS]!;
  }
}
