/**
 * Where item slabs come from. The default, SlabPool, reuses them, so a steady stream whose outputs are
 * released allocates no tensor memory per item; one pool may serve several runners, whatever their
 * item sizes, or a caller may supply an allocator of its own.
 */

/** Who uses a slab: the runner's executors keep views of each slab they have seen. */
export interface SlabOwner {
  /** `slab` went to another owner or was dropped: let go of every view of it, so it can be freed. */
  forget(slab: SharedArrayBuffer): void;
}

export interface SlabAllocator {
  /** A slab of at least `byteSize` bytes for `owner`. */
  acquire(byteSize: number, owner: SlabOwner): SharedArrayBuffer;
  /**
   * `owner` is done with `slab`. The allocator may keep it to hand out again; when it hands it to
   * another owner or drops it, it tells `owner` to forget it first.
   */
  release(slab: SharedArrayBuffer, owner: SlabOwner): void;
}

interface FreeSlab {
  readonly slab: SharedArrayBuffer;
  readonly owner: SlabOwner;
}

export class SlabPool implements SlabAllocator {
  /** Free slabs by size, oldest first. */
  private readonly free = new Map<number, FreeSlab[]>();
  /** Free slabs in release order, for dropping the oldest when over the budget. */
  private readonly order: FreeSlab[] = [];
  private freeBytes = 0;
  /** Slabs created so far (tests and benchmarks read it to see reuse). */
  created = 0;

  /** `keepBytes`: free slabs kept beyond this many bytes are dropped, oldest first, to the garbage collector. */
  constructor(private readonly keepBytes: number) {}

  acquire(byteSize: number, owner: SlabOwner): SharedArrayBuffer {
    const list = this.free.get(byteSize);
    if (list && list.length > 0) {
      // The caller's own slab if it has one: its executors have views of it already.
      const i = Math.max(0, list.findIndex((f) => f.owner === owner));
      const [taken] = list.splice(i, 1);
      this.order.splice(this.order.indexOf(taken!), 1);
      this.freeBytes -= byteSize;
      if (taken!.owner !== owner) taken!.owner.forget(taken!.slab);
      return taken!.slab;
    }
    this.created++;
    return new SharedArrayBuffer(byteSize);
  }

  release(slab: SharedArrayBuffer, owner: SlabOwner): void {
    const entry = { slab, owner };
    const list = this.free.get(slab.byteLength) ?? [];
    list.push(entry);
    this.free.set(slab.byteLength, list);
    this.order.push(entry);
    this.freeBytes += slab.byteLength;
    while (this.freeBytes > this.keepBytes) {
      const oldest = this.order.shift()!;
      const same = this.free.get(oldest.slab.byteLength)!;
      same.splice(same.indexOf(oldest), 1);
      this.freeBytes -= oldest.slab.byteLength;
      oldest.owner.forget(oldest.slab);
    }
  }

  /** Bytes of the free slabs kept now. */
  get keptBytes(): number {
    return this.freeBytes;
  }
}
