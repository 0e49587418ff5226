/**
 * When the engine of an executor started the invoke it is in: written by the executor's thread and read
 * by the runner's, in shared memory. Hang detection then measures the engine's own time, not how late
 * the runner's thread got round to looking (a main thread busy for a second is not a hung engine).
 */

/** Microseconds since the epoch, on a clock every thread of the process shares. */
const nowUs = () => (performance.timeOrigin + performance.now()) * 1000;

export class InvokeClock {
  private readonly cell: BigInt64Array;

  constructor(readonly buffer = new SharedArrayBuffer(8)) {
    this.cell = new BigInt64Array(buffer);
  }

  /** In the executor: an invoke starts now. */
  started(): void {
    Atomics.store(this.cell, 0, BigInt(Math.round(nowUs())));
  }

  /** In the executor: the invoke ended. */
  ended(): void {
    Atomics.store(this.cell, 0, 0n);
  }

  /** How long the invoke in progress has run, in ms; undefined while the engine is idle. */
  runningMs(): number | undefined {
    const since = Atomics.load(this.cell, 0);
    return since === 0n ? undefined : (nowUs() - Number(since)) / 1000;
  }
}
