/** The segmentation requests the benchmarks compare, one per strategy, made the same way everywhere. */
import type { Model } from '../../src/model/index.js';
import { cutCandidates, type OperatorProfile, type SegmentRequest, type SegmentTimer } from '../../src/model/segment/index.js';

/**
 * params and latency ask for `count` segments; cut takes the evenly spaced single-tensor cut points,
 * which is what a user who cuts "in the middle" by hand gets.
 */
export function strategyRequests(model: Model, count: number, timer: SegmentTimer, profile: OperatorProfile): SegmentRequest[] {
  const candidates = cutCandidates(model);
  return [
    { strategy: 'params', count },
    { strategy: 'cut', cuts: Array.from({ length: count - 1 }, (_, k) => [candidates[Math.floor(((k + 1) * candidates.length) / count)]!]) },
    { strategy: 'latency', count, timer, profile },
  ];
}
