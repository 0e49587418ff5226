/**
 * Where item slabs come from. The default, SlabPool, reuses them, so a steady stream whose outputs are
 * released allocates no tensor memory per item; a caller may supply its own (e.g. one shared by
 * several pipelines).
 */
export interface SlabAllocator {
  acquire(byteSize: number): SharedArrayBuffer;
  /**
   * The runner is done with `slab`. Returns true if the allocator keeps it to hand out again, false
   * if it drops it (the runner then lets its executors drop their references too).
   */
  release(slab: SharedArrayBuffer): boolean;
}

export class SlabPool implements SlabAllocator {
  private readonly free: SharedArrayBuffer[] = [];
  /** Slabs created so far (tests and benchmarks read it to see reuse). */
  created = 0;

  /** `keep`: free slabs kept beyond this are left to the garbage collector. */
  constructor(private readonly keep: number) {}

  acquire(byteSize: number): SharedArrayBuffer {
    const slab = this.free.pop();
    if (slab && slab.byteLength === byteSize) return slab;
    this.created++;
    return new SharedArrayBuffer(byteSize);
  }

  release(slab: SharedArrayBuffer): boolean {
    if (this.free.length >= this.keep) return false;
    this.free.push(slab);
    return true;
  }
}
