/**
 * Bytes a segment moves in and out: the travelling tensors it reads from before it plus those it
 * hands on. Segments pay for these on every invoke (copies into and out of the runtime, or transfers to
 * the accelerator), so the latency strategy prices them.
 */
import { byteSizeOf } from '../../tensors/tensor.js';
import { consumers, producers } from '../graph.js';
import type { Model } from '../types.js';
import { segmentableSubgraph, travels } from './plan.js';

interface Travelling {
  /** Position in the order of the producer; -1 for a model input. */
  readonly made: number;
  /** Positions of the readers, ascending. */
  readonly readAt: readonly number[];
  readonly isOutput: boolean;
  readonly bytes: number;
}

/** `(from, to) -> bytes` of the segment running `order[from..to)`, cached per range. */
export function boundaryBytes(model: Model, order: readonly number[]): (from: number, to: number) => number {
  const subgraph = segmentableSubgraph(model);
  const position = new Map(order.map((op, i) => [op, i]));
  const made = producers(subgraph);
  const readers = consumers(subgraph);
  const tensors: Travelling[] = [];
  subgraph.tensors.forEach((tensor, t) => {
    if (!travels(subgraph, t)) return;
    const producer = made.get(t);
    tensors.push({
      made: producer === undefined ? -1 : position.get(producer)!,
      readAt: (readers.get(t) ?? []).map((op) => position.get(op)!).sort((a, b) => a - b),
      isOutput: subgraph.outputs.includes(t),
      bytes: byteSizeOf(tensor.type, tensor.shape),
    });
  });
  const cache = new Map<number, number>();
  return (from, to) => {
    const key = from * (order.length + 1) + to;
    let bytes = cache.get(key);
    if (bytes === undefined) {
      bytes = 0;
      for (const t of tensors) {
        const inside = t.made >= from && t.made < to;
        if (!inside && t.made < from && t.readAt.some((p) => p >= from && p < to)) bytes += t.bytes;
        else if (inside && (t.isOutput || t.readAt[t.readAt.length - 1]! >= to)) bytes += t.bytes;
      }
      cache.set(key, bytes);
    }
    return bytes;
  };
}
