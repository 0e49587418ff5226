/**
 * Item slabs between the allocator and the executors. Every executor is given each slab once, under an
 * id, so that the queues carry only ids; when a slab leaves this pipeline for good (the allocator drops
 * it or gives it to another pipeline) they must drop it, or it could never be freed.
 */
import type { SlabAllocator, SlabOwner } from './slab-pool.js';
import type { WorkerExecutor } from './worker-executor.js';

export class SlabTracker implements SlabOwner {
  private readonly ids = new WeakMap<SharedArrayBuffer, number>();
  private nextId = 0;

  constructor(
    private readonly allocator: SlabAllocator,
    private readonly byteSize: number,
    private readonly executors: readonly WorkerExecutor[],
  ) {}

  /** A slab for one item; throws RangeError if a caller's allocator gives one too small. */
  acquire(): SharedArrayBuffer {
    const slab = this.allocator.acquire(this.byteSize, this);
    if (slab.byteLength < this.byteSize) {
      throw new RangeError(`allocator gave a slab of ${slab.byteLength} bytes; items need ${this.byteSize}`);
    }
    return slab;
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
