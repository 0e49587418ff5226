/**
 * Which tensors cross between segments, given which operators each segment runs. Pure over the model.
 *
 * The rule: a tensor travels between segments only if it is a model input or an operator's output.
 * Everything else an operator reads (constants, variable tensors) is local, copied into each segment
 * that uses it. A segment's inputs are the travelling tensors it reads but does not produce; its outputs
 * are what it produces that a later segment reads or the model returns. Tensors that skip a segment
 * are not routed through it: the runner carries them by name.
 */
import { consumers, isConstant, isEdgeTpuCompiled, producers, topologicalOrder } from '../graph.js';
import type { Model, SubGraph } from '../types.js';
import { SegmentationError } from './errors.js';

export interface SegmentPlan {
  readonly index: number;
  /** Operator indices of the model's subgraph, in the order the segment runs them. */
  readonly operators: readonly number[];
  /** Tensor indices of the model's subgraph: model inputs first (model order), then by producer. */
  readonly inputs: readonly number[];
  /** Tensor indices: model outputs first (model order), then what later segments read, by producer. */
  readonly outputs: readonly number[];
  /** Bytes of the constant buffers the segment holds, each buffer once. */
  readonly parameterBytes: number;
}

/** The one subgraph a segmentable model has; refuses what cannot be cut. */
export function segmentableSubgraph(model: Model): SubGraph {
  if (isEdgeTpuCompiled(model)) {
    throw new SegmentationError(
      'the model is already compiled for the Edge TPU; segment the uncompiled model, or compile it with `edgetpu_compiler --num_segments N`',
    );
  }
  if (model.subgraphs.length !== 1) {
    throw new SegmentationError(
      `the model has ${model.subgraphs.length} subgraphs; only single-subgraph models (no control flow) can be segmented`,
    );
  }
  const subgraph = model.subgraphs[0]!;
  if (subgraph.operators.length === 0) throw new SegmentationError('the model has no operators to segment');
  return subgraph;
}

/** The execution order the strategies cut into contiguous ranges. */
export function executionOrder(model: Model): number[] {
  return topologicalOrder(segmentableSubgraph(model));
}

/** Contiguous ranges of `order` starting at `starts` (starts[0] = 0, ascending, each range non-empty). */
export function rangesOf(order: readonly number[], starts: readonly number[]): number[][] {
  return starts.map((start, i) => order.slice(start, starts[i + 1] ?? order.length));
}

/** True for tensors that travel between segments: model inputs and operator outputs. */
export function travels(subgraph: SubGraph, tensor: number): boolean {
  return producers(subgraph).has(tensor) || subgraph.inputs.includes(tensor);
}

/**
 * Plans segments running `groups` of operators in turn. Every operator must appear in exactly one
 * group, and no operator may read a tensor produced in a later group.
 */
export function planSegments(model: Model, groups: readonly (readonly number[])[]): SegmentPlan[] {
  const subgraph = segmentableSubgraph(model);
  const segmentOf = new Map<number, number>();
  groups.forEach((ops, g) => {
    if (ops.length === 0) throw new SegmentationError(`segment ${g} would hold no operators`);
    for (const op of ops) {
      if (op < 0 || op >= subgraph.operators.length) throw new SegmentationError(`segment ${g} names operator ${op}, which does not exist`);
      if (segmentOf.has(op)) throw new SegmentationError(`operator ${op} is placed in both segment ${segmentOf.get(op)} and segment ${g}`);
      segmentOf.set(op, g);
    }
  });
  if (segmentOf.size !== subgraph.operators.length) {
    const missing = subgraph.operators.findIndex((_, i) => !segmentOf.has(i));
    throw new SegmentationError(`operator ${missing} is in no segment`);
  }

  const produced = producers(subgraph);
  const readers = consumers(subgraph);
  // Global position of each operator, to order crossing tensors by when they were made.
  const position = new Map<number, number>();
  groups.flat().forEach((op, i) => position.set(op, i));
  const modelInputs = subgraph.inputs;
  const modelOutputs = subgraph.outputs;
  const byProducer = (a: number, b: number) => position.get(produced.get(a)!)! - position.get(produced.get(b)!)! || a - b;

  // A variable tensor is state the model updates in place: split between segments, each would keep
  // its own copy and the state would silently fork.
  const stateOwner = new Map<number, number>();
  groups.forEach((ops, g) => {
    for (const op of ops) {
      for (const t of subgraph.operators[op]!.inputs) {
        if (t < 0 || !subgraph.tensors[t]!.isVariable) continue;
        const owner = stateOwner.get(t);
        if (owner !== undefined && owner !== g) {
          throw new SegmentationError(`variable (state) tensor "${subgraph.tensors[t]!.name}" is used in segments ${owner} and ${g}; keep its operators in one segment`);
        }
        stateOwner.set(t, g);
      }
    }
  });

  return groups.map((ops, g) => {
    const inputs = new Set<number>();
    const outputs = new Set<number>();
    const buffers = new Set<number>();
    for (const op of ops) {
      const operator = subgraph.operators[op]!;
      for (const t of operator.inputs) {
        if (t < 0) continue;
        if (isConstant(model, subgraph, t)) buffers.add(subgraph.tensors[t]!.buffer);
        if (!travels(subgraph, t)) continue;
        const from = produced.get(t);
        const fromSegment = from === undefined ? -1 : segmentOf.get(from)!;
        if (fromSegment > g) {
          throw new SegmentationError(
            `operator ${op} in segment ${g} reads "${subgraph.tensors[t]!.name}", which segment ${fromSegment} produces later`,
          );
        }
        if (fromSegment !== g) inputs.add(t);
      }
      for (const t of operator.outputs) {
        if (t < 0) continue;
        const readLater = (readers.get(t) ?? []).some((r) => segmentOf.get(r)! > g);
        if (readLater || modelOutputs.includes(t)) outputs.add(t);
      }
    }
    const firstModel = (list: readonly number[], set: Set<number>) => list.filter((t) => set.has(t));
    const rest = (list: readonly number[], set: Set<number>) => [...set].filter((t) => !list.includes(t)).sort(byProducer);
    let parameterBytes = 0;
    for (const b of buffers) parameterBytes += model.buffers[b]!.data.length;
    return {
      index: g,
      operators: ops,
      inputs: [...firstModel(modelInputs, inputs), ...rest(modelInputs, inputs)],
      outputs: [...firstModel(modelOutputs, outputs), ...rest(modelOutputs, outputs)],
      parameterBytes,
    };
  });
}
