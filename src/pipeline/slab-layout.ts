/**
 * Every item travels in one shared memory slab holding all of its tensors at fixed offsets, so a
 * hand-off between executors posts only the slab, never copies tensor bytes. Tensors whose lifetimes
 * do not overlap share bytes: a tensor is "freed" once its last consumer has run, because a later
 * tensor is planned over it.
 */
import type { NamedTensors, TensorSpec } from '../tensors/tensor.js';
import { viewAs } from '../tensors/dtype.js';
import type { ChainAnalysis } from '../model/segment/chain.js';

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
