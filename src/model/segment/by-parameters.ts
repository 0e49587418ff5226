/**
 * The `params` strategy, the way `edgetpu_compiler --num_segments` splits: operators in execution
 * order, each of the first N-1 segments filled up to total/N parameter bytes (stopping before it
 * would exceed that), always at least one operator, and at least one left for each later segment.
 */
import { parameterBytes } from '../graph.js';
import type { Model } from '../types.js';
import { checkSegmentCount } from './count.js';
import { segmentableSubgraph } from './plan.js';

/** Start positions in `order` of each of the `count` segments. */
export function splitByParameters(model: Model, order: readonly number[], count: number): number[] {
  checkSegmentCount(count, order.length);
  const subgraph = segmentableSubgraph(model);
  const costs = order.map((op) => parameterBytes(model, subgraph, op));
  const target = costs.reduce((a, b) => a + b, 0) / count;
  const starts = [0];
  let next = 0;
  for (let segment = 0; segment < count - 1; segment++) {
    const mustLeave = count - 1 - segment;
    let sum = costs[next++]!;
    while (next < order.length - mustLeave && sum + costs[next]! <= target) sum += costs[next++]!;
    starts.push(next);
  }
  return starts;
}
