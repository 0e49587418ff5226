/** Messages between the runner (parent) and an executor worker. Tensor bytes never travel in them. */
import type { TensorSpec } from '../tensors/tensor.js';
import type { EngineSpec } from '../devices/open-engine.js';
import type { Placement } from './slab-layout.js';

export interface ErrorInfo {
  readonly name: string;
  readonly message: string;
}

export type ToWorker =
  /** `clock`: the executor's InvokeClock, where it says when its invoke in progress started. */
  | { readonly type: 'open'; readonly spec: EngineSpec; readonly clock: SharedArrayBuffer }
  /** Where this segment's inputs and outputs sit in every item's slab. */
  | { readonly type: 'layout'; readonly inputs: readonly Placement[]; readonly outputs: readonly Placement[] }
  /**
   * Slabs are introduced once and then named by id: posting a SharedArrayBuffer costs several times
   * more than posting a number, and a pooled slab carries thousands of items.
   */
  | { readonly type: 'slab'; readonly id: number; readonly slab: SharedArrayBuffer }
  | { readonly type: 'forget'; readonly id: number }
  /** Items to run in order, as pairs of sequence number and slab id. */
  | { readonly type: 'run'; readonly items: readonly number[] }
  | { readonly type: 'close' };

export type FromWorker =
  | { readonly type: 'opened'; readonly device: string; readonly inputs: TensorSpec[]; readonly outputs: TensorSpec[] }
  | { readonly type: 'open-failed'; readonly error: ErrorInfo }
  /** `busyMs`: the engine's own time for the item, measured in the worker. */
  | { readonly type: 'done'; readonly seq: number; readonly busyMs: number }
  | { readonly type: 'failed'; readonly seq: number; readonly error: ErrorInfo };

export function errorInfo(err: unknown): ErrorInfo {
  return err instanceof Error ? { name: err.name, message: err.message } : { name: 'Error', message: String(err) };
}
