/** Cuts a model into standalone segment models, given which operators each segment runs. */
import type { Model } from '../types.js';
import { EDGETPU_CACHE_BYTES } from './count.js';
import { extractSegment } from './extract.js';
import { planSegments, segmentableSubgraph, type SegmentPlan } from './plan.js';

export interface Segment {
  readonly index: number;
  readonly count: number;
  /** The standalone segment model (`writeModel` gives its file). */
  readonly model: Model;
  /** Operator indices of the whole model it runs, in its order. */
  readonly operators: readonly number[];
  /** Bytes of constant data it holds. */
  readonly parameterBytes: number;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** Whether its parameters fit the Edge TPU's ~8 MB on-chip cache (no streaming from the host). */
  readonly fitsEdgeTpuCache: boolean;
}

export function cutModel(model: Model, groups: readonly (readonly number[])[]): Segment[] {
  const subgraph = segmentableSubgraph(model);
  const names = (tensors: readonly number[]) => tensors.map((t) => subgraph.tensors[t]!.name);
  const modelInputs = names(subgraph.inputs);
  const modelOutputs = names(subgraph.outputs);
  const count = groups.length;
  return planSegments(model, groups).map((plan: SegmentPlan) => ({
    index: plan.index,
    count,
    model: extractSegment(model, plan, { index: plan.index, count, modelInputs, modelOutputs }),
    operators: plan.operators,
    parameterBytes: plan.parameterBytes,
    inputs: names(plan.inputs),
    outputs: names(plan.outputs),
    fitsEdgeTpuCache: plan.parameterBytes <= EDGETPU_CACHE_BYTES,
  }));
}

/**
 * The segment running `order[start..end)` alone, with the inputs and outputs it would have inside a
 * pipeline cut at those points: what the latency strategy times.
 */
export function rangeSegment(model: Model, order: readonly number[], start: number, end: number): Segment {
  const groups = [order.slice(0, start), order.slice(start, end), order.slice(end)];
  const middle = start > 0 ? 1 : 0;
  return cutModel(model, groups.filter((g) => g.length > 0))[middle]!;
}
