/**
 * The parent's handle on one executor worker: opens an engine in a worker thread, posts items to it
 * and reports what comes back. It holds no reference to the runner, only to its callbacks, so a runner
 * nobody references can still be garbage-collected and its workers ended.
 */
import { Worker } from 'node:worker_threads';
import type { TensorSpec } from '../tensors/tensor.js';
import { EngineError } from '../devices/engine.js';
import { engineDevice, type EngineSpec } from '../devices/open-engine.js';
import { InvokeClock } from './invoke-clock.js';
import type { Placement } from './slab-layout.js';
import type { ErrorInfo, FromWorker, ToWorker } from './worker-protocol.js';

export interface ExecutorEvents {
  done(seq: number, busyMs: number): void;
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
  /** Slab ids this worker has been given. */
  private readonly known = new Set<number>();
  /**
   * Runs posted in one turn of the event loop go in one message: under load many items are handed
   * on per turn, and each message costs a thread wake-up.
   */
  private outbox: number[] = [];
  private flushing: NodeJS.Immediate | undefined;
  private readonly exited: Promise<void>;
  private readonly clock: InvokeClock;

  private constructor(
    private readonly worker: Worker,
    readonly device: string,
    readonly inputs: readonly TensorSpec[],
    readonly outputs: readonly TensorSpec[],
    exited: Promise<void>,
    clock: InvokeClock,
  ) {
    this.exited = exited;
    this.clock = clock;
  }

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
          case 'done': events.done(msg.seq, msg.busyMs); break;
          case 'failed': events.failed(msg.seq, msg.error); break;
          case 'opened':
            clearTimeout(timer);
            executor = new WorkerExecutor(worker, msg.device, msg.inputs, msg.outputs, exited, clock);
            resolve(executor);
            break;
          case 'open-failed': fail(Object.assign(new Error(msg.error.message), { name: msg.error.name })); break;
        }
      });
      const post: ToWorker = { type: 'open', spec, clock: clock.buffer };
      worker.postMessage(post);
    });
  }

  setLayout(inputs: readonly Placement[], outputs: readonly Placement[]): void {
    this.post({ type: 'layout', inputs, outputs });
  }

  run(seq: number, slabId: number, slab: SharedArrayBuffer): void {
    if (!this.known.has(slabId)) {
      this.known.add(slabId);
      this.post({ type: 'slab', id: slabId, slab });
    }
    this.outbox.push(seq, slabId);
    this.flushing ??= setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushing = undefined;
    if (this.closing) return;
    this.post({ type: 'run', items: this.outbox });
    this.outbox = [];
  }

  /** The slab will not come back: the worker drops its reference. */
  forget(slabId: number): void {
    if (this.known.delete(slabId) && !this.closing) this.post({ type: 'forget', id: slabId });
  }

  /** A worker with nothing to do must not keep the process alive. */
  hold(active: boolean): void {
    if (active) this.worker.ref();
    else this.worker.unref();
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
