/**
 * The runner's item slabs, one shared memory slab per item holding all its tensors: taken from the
 * allocator and given back, filled with an item's inputs and read as its outputs at the layout's
 * offsets, and introduced to every executor once, under an id, so that the queues carry only ids.
 * When a slab leaves this pipeline for good (the allocator drops it or gives it to another pipeline)
 * the executors must drop it, or it could never be freed.
 */
import type { NamedTensors, TensorSpec } from '../tensors/tensor.js';
import { bytesOf, viewAs } from '../tensors/dtype.js';
import { placementsOf, viewsAt, type Placement, type SlabLayout } from './slab-layout.js';
import type { SlabAllocator, SlabOwner } from './slab-pool.js';
import type { WorkerExecutor } from './worker-executor.js';

export class ItemSlabs implements SlabOwner {
  private readonly ids = new WeakMap<SharedArrayBuffer, number>();
  private nextId = 0;
  private readonly byteSize: number;
  /** Where the pipeline's inputs and outputs lie in every slab. */
  private readonly inputs: readonly Placement[];
  private readonly outputs: readonly Placement[];

  constructor(
    private readonly allocator: SlabAllocator,
    layout: SlabLayout,
    inputs: readonly TensorSpec[],
    outputs: readonly TensorSpec[],
    private readonly executors: readonly WorkerExecutor[],
  ) {
    this.byteSize = layout.byteSize;
    this.inputs = placementsOf(layout, inputs);
    this.outputs = placementsOf(layout, outputs);
  }

  /** A slab for one item; throws RangeError if a caller's allocator gives one too small. */
  acquire(): SharedArrayBuffer {
    const slab = this.allocator.acquire(this.byteSize, this);
    if (slab.byteLength < this.byteSize) {
      throw new RangeError(`allocator gave a slab of ${slab.byteLength} bytes; items need ${this.byteSize}`);
    }
    return slab;
  }

  /** Copies an item's inputs, already checked against their specs, into its slab. */
  writeInputs(slab: SharedArrayBuffer, inputs: NamedTensors): void {
    for (const p of this.inputs) new Uint8Array(slab, p.byteOffset, p.byteSize).set(bytesOf(inputs[p.name]!));
  }

  /** Typed views of an item's outputs on its slab, not copies: they stay valid until the slab is reused. */
  viewOutputs(slab: SharedArrayBuffer): NamedTensors {
    return viewsAt(slab, this.outputs);
  }

  /** Copies of an item's outputs in their own memory, typed as their specs say. */
  copyOutputs(outputs: NamedTensors): NamedTensors {
    return Object.fromEntries(this.outputs.map((p) => [p.name, viewAs(p.dtype, bytesOf(outputs[p.name]!).slice())]));
  }

  /** Distinct slabs seen so far. */
  get used(): number {
    return this.nextId;
  }

  /** The slab's id, introducing it to the executors the first time. */
  id(slab: SharedArrayBuffer): number {
    let id = this.ids.get(slab);
    if (id === undefined) {
      this.ids.set(slab, (id = this.nextId++));
      for (const executor of this.executors) executor.introduce(id, slab);
    }
    return id;
  }

  release(slab: SharedArrayBuffer): void {
    this.allocator.release(slab, this);
  }

  /** As forget(), by id: for a slab only known by its id any more. */
  forgetId(id: number): void {
    for (const executor of this.executors) executor.forget(id);
  }

  /** No executor of this pipeline will see this slab again: they drop their references so it can be freed. */
  forget(slab: SharedArrayBuffer): void {
    const id = this.ids.get(slab);
    if (id === undefined) return;
    this.ids.delete(slab);
    this.forgetId(id);
  }
}
