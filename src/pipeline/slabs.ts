/**
 * The memory items travel in. Every item lives in one shared memory slab holding all of its tensors at
 * fixed offsets, so a hand-off between executors posts only the slab's id, never tensor bytes. Here:
 * the layout of a slab (where each tensor lies), where slabs come from (an allocator, by default a pool
 * that reuses them), and the runner's slabs (an id per slab that every executor is introduced to once,
 * an item's inputs copied in and its outputs read out).
 */
import { type NamedTensors, type TensorSpec, bytesOf, viewAs } from '../tensors/tensor.js';
import type { ChainAnalysis } from '../model/segment/chain.js';

/*
 * Layout. Tensors whose lifetimes do not overlap share bytes: a tensor is "freed" once its last
 * consumer has run, because a later tensor is planned over it.
 */
export interface Placement {
  readonly name: string;
  readonly dtype: TensorSpec['dtype'];
  readonly byteOffset: number;
  readonly byteSize: number;
}

export interface SlabLayout {
  readonly byteSize: number;
  readonly placements: ReadonlyMap<string, Placement>;
}

/** Offsets are aligned for any typed array view (and cache lines). */
const ALIGN = 64;
const alignUp = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

/**
 * Greedy first-fit by size: each tensor lives from its producer (-1 for inputs) to its last use
 * inclusive; two tensors overlap in time if these intervals intersect, and then not in bytes.
 */
export function planSlab(chain: ChainAnalysis): SlabLayout {
  const items = [...chain.tensors.values()]
    .map((t) => ({ spec: t.spec, from: t.producer, to: t.lastUse }))
    .sort((a, b) => b.spec.byteSize - a.spec.byteSize || a.from - b.from);
  const placed: { from: number; to: number; start: number; end: number }[] = [];
  const placements = new Map<string, Placement>();
  let byteSize = 0;
  for (const item of items) {
    const size = alignUp(Math.max(item.spec.byteSize, 1));
    const busy = placed
      .filter((p) => p.from <= item.to && item.from <= p.to)
      .sort((a, b) => a.start - b.start);
    let start = 0;
    for (const p of busy) {
      if (start + size <= p.start) break;
      start = Math.max(start, p.end);
    }
    placed.push({ from: item.from, to: item.to, start, end: start + size });
    placements.set(item.spec.name, {
      name: item.spec.name,
      dtype: item.spec.dtype,
      byteOffset: start,
      byteSize: item.spec.byteSize,
    });
    byteSize = Math.max(byteSize, start + size);
  }
  return { byteSize, placements };
}

/** The placements of `specs` (a segment's inputs or outputs), in their order. */
export function placementsOf(layout: SlabLayout, specs: readonly TensorSpec[]): Placement[] {
  return specs.map((s) => layout.placements.get(s.name)!);
}

/** Typed views of `slab` at `placements`, by tensor name: views, not copies. */
export function viewsAt(slab: SharedArrayBuffer, placements: readonly Placement[]): NamedTensors {
  const views: NamedTensors = {};
  for (const p of placements) views[p.name] = viewAs(p.dtype, new Uint8Array(slab, p.byteOffset, p.byteSize));
  return views;
}

/*
 * Where slabs come from. The default, SlabPool, reuses them, so a steady stream whose outputs are
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

/*
 * The runner's slabs: taken from the allocator and given back, and introduced to every executor once,
 * under an id, so that the queues carry only ids. When a slab leaves this pipeline for good (the
 * allocator drops it or gives it to another pipeline) the executors must drop it, or it could never
 * be freed.
 */
/** What keeps views of slabs by id: the runner's executors. */
export interface SlabViewer {
  introduce(id: number, slab: SharedArrayBuffer): void;
  forget(id: number): void;
}

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
    private readonly executors: readonly SlabViewer[],
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
