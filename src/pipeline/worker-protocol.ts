/** Messages between the runner (parent) and an executor worker. Tensor bytes never travel in them, nor do items. */
import type { TensorSpec } from '../tensors/tensor.js';
import type { EngineSpec } from '../devices/open-engine.js';
import type { CounterBuffers } from './executor-counters.js';
import type { Placement } from './slabs.js';

export interface ErrorInfo {
  readonly name: string;
  readonly message: string;
}

export type ToWorker =
  /**
   * `clock`: the executor's InvokeClock, where it says when its invoke in progress started;
   * `counters`: its ExecutorCounters.
   */
  | { readonly type: 'open'; readonly spec: EngineSpec; readonly clock: SharedArrayBuffer; readonly counters: CounterBuffers }
  /**
   * Where this segment's inputs and outputs sit in every item's slab, and the SharedQueues it takes
   * items from and hands them on to; it starts taking items.
   */
  | {
      readonly type: 'connect';
      readonly inputs: readonly Placement[];
      readonly outputs: readonly Placement[];
      readonly from: SharedArrayBuffer;
      readonly to: SharedArrayBuffer;
    }
  /**
   * Slabs are introduced once and then named by id in the queues: a pooled slab carries thousands of
   * items.
   */
  | { readonly type: 'slab'; readonly id: number; readonly slab: SharedArrayBuffer }
  | { readonly type: 'forget'; readonly id: number }
  | { readonly type: 'close' };

export type FromWorker =
  | { readonly type: 'opened'; readonly device: string; readonly inputs: TensorSpec[]; readonly outputs: TensorSpec[] }
  | { readonly type: 'open-failed'; readonly error: ErrorInfo }
  /** An item whose invoke failed: it goes no further, and the runner hands its error to pop. */
  | { readonly type: 'failed'; readonly seq: number; readonly error: ErrorInfo };

export function errorInfo(err: unknown): ErrorInfo {
  return err instanceof Error ? { name: err.name, message: err.message } : { name: 'Error', message: String(err) };
}
