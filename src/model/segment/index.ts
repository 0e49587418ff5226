/**
 * Segmenting a model for pipelining: one `.tflite` model -> N standalone segment models that, run in
 * order with tensors matched by name, give what the whole model gives.
 */
import type { Model } from '../types.js';
import { splitAtTensors } from './at-tensors.js';
import { splitByLatency, type LatencyOptions, type LatencyReport } from './by-latency.js';
import { splitByParameters } from './by-parameters.js';
import { cutModel, type Segment } from './cut-model.js';
import { SegmentationError } from './errors.js';
import { executionOrder, rangesOf } from './plan.js';

export { SegmentationError } from './errors.js';
export { cutModel, rangeSegment, type Segment } from './cut-model.js';
export { planSegments, executionOrder, rangesOf, type SegmentPlan } from './plan.js';
export { splitByParameters } from './by-parameters.js';
export { splitAtTensors, parseCuts, cutCandidates } from './at-tensors.js';
export { splitByLatency, profileOperators, minMaxSplit, type SegmentTimer, type OperatorProfile, type LatencyOptions, type LatencyReport } from './by-latency.js';
export { autoSegmentCount, checkSegmentCount, EDGETPU_CACHE_BYTES, type SegmentTarget } from './count.js';
export { segmentFileName, modelStem, parseSegmentFileName, type SegmentFileName } from './naming.js';
export { readSegmentInfo, SEGMENT_METADATA_NAME, type SegmentInfo } from './segment-info.js';

export type SegmentStrategy = 'params' | 'cut' | 'latency';
export const SEGMENT_STRATEGIES: readonly SegmentStrategy[] = ['params', 'cut', 'latency'];

export type SegmentRequest =
  | { readonly strategy: 'params'; readonly count: number }
  | { readonly strategy: 'cut'; readonly cuts: readonly (readonly string[])[] }
  | ({ readonly strategy: 'latency'; readonly count: number } & LatencyOptions);

export interface Segmentation {
  readonly strategy: SegmentStrategy;
  readonly segments: readonly Segment[];
  /** For the latency strategy: what it measured and settled on. */
  readonly latency?: LatencyReport;
}

export async function segmentModel(model: Model, request: SegmentRequest): Promise<Segmentation> {
  switch (request.strategy) {
    case 'params': {
      const order = executionOrder(model);
      return { strategy: 'params', segments: cutModel(model, rangesOf(order, splitByParameters(model, order, request.count))) };
    }
    case 'cut':
      return { strategy: 'cut', segments: cutModel(model, splitAtTensors(model, request.cuts)) };
    case 'latency': {
      const order = executionOrder(model);
      const latency = await splitByLatency(model, order, request.count, request);
      return { strategy: 'latency', segments: cutModel(model, rangesOf(order, latency.starts)), latency };
    }
    default:
      throw new SegmentationError(`unknown strategy "${(request as { strategy: string }).strategy}"; use params, cut or latency`);
  }
}
