/**
 * The `cut` strategy: segments end at tensors the user names. A cut is one tensor, or several joined
 * with `+` when more than one tensor must cross at the same point (a skip connection, a split). Segment i
 * holds every operator needed to compute cut i that earlier segments do not hold; the last segment
 * holds the rest. A cut must separate the graph: no tensor other than the cut tensors (and tensors
 * of earlier cuts, which the runner carries) may cross it, else the cut is not where the user thinks.
 */
import { consumers, producers } from '../graph.js';
import type { Model, SubGraph } from '../types.js';
import { SegmentationError } from './errors.js';
import { executionOrder, segmentableSubgraph } from './plan.js';

/** `["a", "b+c"]` style cut specs -> tensor-name groups. */
export function parseCuts(specs: readonly string[]): string[][] {
  return specs.map((spec) => spec.split('+').map((name) => name.trim()).filter((name) => name.length > 0)).filter((g) => g.length > 0);
}

function tensorByName(subgraph: SubGraph, name: string): number {
  const index = subgraph.tensors.findIndex((t) => t.name === name);
  if (index < 0) throw new SegmentationError(`cut tensor "${name}" does not exist in the model`);
  if (!producers(subgraph).has(index)) {
    const what = subgraph.inputs.includes(index) ? 'a model input' : 'not produced by any operator (a constant?)';
    throw new SegmentationError(`cannot cut at "${name}": it is ${what}`);
  }
  return index;
}

/** Operators needed to compute `tensors`: their producers and everything upstream. */
function upstreamOperators(subgraph: SubGraph, tensors: readonly number[]): Set<number> {
  const produced = producers(subgraph);
  const ops = new Set<number>();
  const stack = tensors.map((t) => produced.get(t)!);
  while (stack.length > 0) {
    const op = stack.pop()!;
    if (ops.has(op)) continue;
    ops.add(op);
    for (const t of subgraph.operators[op]!.inputs) {
      const p = t >= 0 ? produced.get(t) : undefined;
      if (p !== undefined && !ops.has(p)) stack.push(p);
    }
  }
  return ops;
}

/** Tensors produced inside `ops` and read by an operator outside it. */
function crossing(subgraph: SubGraph, ops: ReadonlySet<number>): number[] {
  const readers = consumers(subgraph);
  const out: number[] = [];
  for (const op of ops) {
    for (const t of subgraph.operators[op]!.outputs) {
      if (t >= 0 && (readers.get(t) ?? []).some((r) => !ops.has(r))) out.push(t);
    }
  }
  return out;
}

/**
 * Operator groups (each in execution order) for segments ending at `cuts`. Cuts may be given in any
 * order; they are taken upstream first.
 */
export function splitAtTensors(model: Model, cuts: readonly (readonly string[])[]): number[][] {
  const subgraph = segmentableSubgraph(model);
  const order = executionOrder(model);
  if (cuts.length === 0) throw new SegmentationError('the cut strategy needs at least one cut tensor (--cut NAME)');
  const groups = cuts
    .map((names) => {
      const tensors = names.map((name) => tensorByName(subgraph, name));
      return { names, tensors, upstream: upstreamOperators(subgraph, tensors) };
    })
    .sort((a, b) => a.upstream.size - b.upstream.size);

  const taken = new Set<number>();
  const carried = new Set<number>();
  const segments: number[][] = [];
  for (const { names, tensors, upstream } of groups) {
    const label = names.map((n) => `"${n}"`).join('+');
    const ops = order.filter((op) => upstream.has(op) && !taken.has(op));
    if (ops.length === 0) throw new SegmentationError(`cut at ${label} adds no operators after the previous cut (the same point twice?)`);
    for (const op of ops) taken.add(op);
    if (taken.size === order.length) throw new SegmentationError(`cut at ${label} leaves no operators for the last segment (it is at the model's end)`);
    for (const t of tensors) carried.add(t);
    const stray = crossing(subgraph, taken).filter((t) => !carried.has(t));
    if (stray.length > 0) {
      const others = stray.map((t) => `"${subgraph.tensors[t]!.name}"`).join(', ');
      const after = Math.max(...tensors.map((t) => order.indexOf(producers(subgraph).get(t)!)));
      const next = cutCandidates(model).find((name) => order.indexOf(producers(subgraph).get(tensorByName(subgraph, name))!) > after);
      throw new SegmentationError(
        `cut at ${label} does not separate the graph: ${others} also cross${stray.length === 1 ? 'es' : ''} it ` +
          `(cut at all of them joined with "+", or pick another tensor${next ? `, e.g. "${next}" just after` : ''})`,
      );
    }
    segments.push(ops);
  }
  segments.push(order.filter((op) => !taken.has(op)));
  return segments;
}

/**
 * Tensors a single-tensor cut could be made at (each alone separates the graph), in execution order:
 * what to suggest when a cut is refused, and how tests pick cuts.
 */
export function cutCandidates(model: Model): string[] {
  const subgraph = segmentableSubgraph(model);
  const order = executionOrder(model);
  const names: string[] = [];
  for (const op of order) {
    for (const t of subgraph.operators[op]!.outputs) {
      if (t < 0) continue;
      const upstream = upstreamOperators(subgraph, [t]);
      if (upstream.size === order.length) continue;
      if (crossing(subgraph, upstream).every((c) => c === t)) names.push(subgraph.tensors[t]!.name);
    }
  }
  return names;
}
