/**
 * The parent's handle on one executor worker: opens an engine in a worker thread, connects it to the
 * queues it takes items from and hands them on to, and reports failures. It holds no reference to the
 * runner, only to its callbacks, so a runner nobody references can still be garbage-collected and its
 * workers ended.
 */
import { Worker } from 'node:worker_threads';
import type { TensorSpec } from '../tensors/tensor.js';
import { EngineError } from '../devices/engine.js';
import { engineDevice, type EngineSpec } from '../devices/open-engine.js';
import { ExecutorCounters } from './executor-counters.js';
import { InvokeClock } from './invoke-clock.js';
import type { SharedQueue } from './shared-queue.js';
import type { Placement } from './slabs.js';
import type { ErrorInfo, FromWorker, ToWorker } from './worker-protocol.js';

export interface ExecutorEvents {
  failed(seq: number, error: ErrorInfo): void;
  /** The worker ended or crashed while it was expected to run. */
  died(error: Error): void;
}

let live = 0;
/** Executor worker threads currently alive in this process (tests use it to find leaks). */
export function liveExecutorWorkers(): number {
  return live;
}

const workerUrl = new URL('./executor-worker.js', import.meta.url);
/** How long a closing worker may take to free its engine before it is terminated. */
const CLOSE_GRACE_MS = 5_000;

export class WorkerExecutor {
  private closing = false;

  private constructor(
    private readonly worker: Worker,
    readonly device: string,
    readonly inputs: readonly TensorSpec[],
    readonly outputs: readonly TensorSpec[],
    private readonly exited: Promise<void>,
    private readonly clock: InvokeClock,
    /** What the executor has done, counted by its thread. */
    readonly counters: ExecutorCounters,
  ) {}

  /** How long the engine's invoke in progress has run (ms, measured by the executor); undefined when idle. */
  invokeRunningMs(): number | undefined {
    return this.clock.runningMs();
  }

  /**
   * Starts a worker and opens `spec` in it; rejects with an EngineError naming the device, also when
   * the engine has not opened within `timeoutMs` (0 = no limit).
   */
  static open(spec: EngineSpec, events: ExecutorEvents, timeoutMs = 0): Promise<WorkerExecutor> {
    const worker = new Worker(workerUrl);
    const clock = new InvokeClock();
    const counters = new ExecutorCounters();
    live++;
    let executor: WorkerExecutor | undefined;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => { live--; resolve(); }));
    let timer: NodeJS.Timeout | undefined;
    return new Promise<WorkerExecutor>((resolve, reject) => {
      const fail = (err: Error) => {
        if (executor) {
          if (!executor.closing) events.died(err);
        } else {
          clearTimeout(timer);
          void worker.terminate();
          const device = engineDevice(spec);
          reject(new EngineError(`could not open ${spec.kind} engine on ${device}: ${err.message}`, device, { cause: err }));
        }
      };
      if (timeoutMs > 0) timer = setTimeout(() => fail(new Error(`did not open within ${timeoutMs} ms`)), timeoutMs);
      worker.on('error', (err) => fail(err));
      worker.on('exit', (code) => fail(new Error(`executor worker for ${engineDevice(spec)} exited (code ${code})`)));
      worker.on('message', (msg: FromWorker) => {
        switch (msg.type) {
          case 'failed': events.failed(msg.seq, msg.error); break;
          case 'opened':
            clearTimeout(timer);
            executor = new WorkerExecutor(worker, msg.device, msg.inputs, msg.outputs, exited, clock, counters);
            resolve(executor);
            break;
          case 'open-failed': fail(Object.assign(new Error(msg.error.message), { name: msg.error.name })); break;
        }
      });
      const post: ToWorker = { type: 'open', spec, clock: clock.buffer, counters: counters.buffers };
      worker.postMessage(post);
    });
  }

  /** Where its tensors are in each slab, and the queues it takes items from and hands them on to. */
  connect(inputs: readonly Placement[], outputs: readonly Placement[], from: SharedQueue, to: SharedQueue): void {
    this.post({ type: 'connect', inputs, outputs, from: from.buffer, to: to.buffer });
  }

  /** A slab items may name by `id` from now on. */
  introduce(id: number, slab: SharedArrayBuffer): void {
    if (!this.closing) this.post({ type: 'slab', id, slab });
  }

  /** The slab will not come back: the worker drops its reference. */
  forget(id: number): void {
    if (!this.closing) this.post({ type: 'forget', id });
  }

  /** Once connected, the thread does not keep the process alive: the runner does while it holds items. */
  unref(): void {
    this.worker.unref();
  }

  /** Frees the engine and ends the thread; terminates it if it does not end in time. */
  async close(): Promise<void> {
    if (this.closing) return this.exited;
    this.closing = true;
    this.post({ type: 'close' });
    const timer = setTimeout(() => void this.worker.terminate(), CLOSE_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }

  /** Ends the thread at once (a hung or failed pipeline). */
  async terminate(): Promise<void> {
    this.closing = true;
    await this.worker.terminate();
    await this.exited;
  }

  private post(msg: ToWorker): void {
    this.worker.postMessage(msg);
  }
}
