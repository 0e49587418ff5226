/**
 * Pure questions about a model's graph: what an operator is, who produces and who consumes a tensor,
 * an execution order, and how many bytes of weights and activations an operator touches.
 */
import { byteSizeOf } from '../tensors/tensor.js';
import { ModelFormatError } from './errors.js';
import { BUILTIN_CUSTOM, builtinOperatorName } from './schema.js';
import type { Model, Operator, SubGraph } from './types.js';

/** The custom op every edgetpu_compiler output holds. */
export const EDGETPU_CUSTOM_OP = 'edgetpu-custom-op';

/** The builtin operator's name (`CONV_2D`), or the custom op's code (`edgetpu-custom-op`). */
export function operatorName(model: Model, op: Operator): string {
  const code = model.operatorCodes[op.opcodeIndex];
  if (!code) throw new RangeError(`operator code index ${op.opcodeIndex} out of range`);
  if (code.builtinCode === BUILTIN_CUSTOM) return code.customCode ?? '';
  return builtinOperatorName(code.builtinCode);
}

export function isCustomOperator(model: Model, op: Operator): boolean {
  return model.operatorCodes[op.opcodeIndex]?.builtinCode === BUILTIN_CUSTOM;
}

/** Distinct names of the custom ops the model's operators use, in order of first use. */
export function customOperatorNames(model: Model): string[] {
  const names = new Set<string>();
  for (const subgraph of model.subgraphs) {
    for (const op of subgraph.operators) if (isCustomOperator(model, op)) names.add(operatorName(model, op));
  }
  return [...names];
}

export function isEdgeTpuCompiled(model: Model): boolean {
  return customOperatorNames(model).includes(EDGETPU_CUSTOM_OP);
}

// Subgraphs are immutable, so the maps derived from one can be kept as long as it lives.
const producerCache = new WeakMap<SubGraph, ReadonlyMap<number, number>>();
const consumerCache = new WeakMap<SubGraph, ReadonlyMap<number, readonly number[]>>();

/** Tensor index -> index of the operator that outputs it (the first, should a broken model have two). */
export function producers(subgraph: SubGraph): ReadonlyMap<number, number> {
  let map = producerCache.get(subgraph) as Map<number, number> | undefined;
  if (!map) {
    map = new Map();
    subgraph.operators.forEach((op, i) => {
      for (const t of op.outputs) if (t >= 0 && !map!.has(t)) map!.set(t, i);
    });
    producerCache.set(subgraph, map);
  }
  return map;
}

/** Tensor index -> indices of the operators that take it as an input, ascending, each once. */
export function consumers(subgraph: SubGraph): ReadonlyMap<number, readonly number[]> {
  let map = consumerCache.get(subgraph) as Map<number, number[]> | undefined;
  if (!map) {
    map = new Map();
    subgraph.operators.forEach((op, i) => {
      for (const t of op.inputs) {
        if (t < 0) continue;
        const list = map!.get(t) ?? [];
        if (list[list.length - 1] !== i) list.push(i);
        map!.set(t, list);
      }
    });
    consumerCache.set(subgraph, map);
  }
  return map;
}

/**
 * Operator indices in an order where every operator comes after the producers of its inputs (Kahn's
 * algorithm; among ready operators the lowest index goes first, so a model already in order keeps
 * it). Throws ModelFormatError if the operators form a cycle.
 */
export function topologicalOrder(subgraph: SubGraph): number[] {
  const ops = subgraph.operators;
  const produced = producers(subgraph);
  const dependents: number[][] = ops.map(() => []);
  const waiting = ops.map((op, i) => {
    const deps = new Set<number>();
    for (const t of op.inputs) {
      const p = t >= 0 ? produced.get(t) : undefined;
      if (p !== undefined) deps.add(p);
    }
    for (const p of deps) dependents[p].push(i);
    return deps.size;
  });
  const ready = new MinHeap();
  waiting.forEach((n, i) => n === 0 && ready.push(i));
  const order: number[] = [];
  while (ready.size > 0) {
    const i = ready.pop();
    order.push(i);
    for (const d of dependents[i]) if (--waiting[d] === 0) ready.push(d);
  }
  if (order.length !== ops.length) {
    const stuck = waiting.findIndex((n) => n > 0);
    throw new ModelFormatError('operators form a cycle', `${subgraph.name || 'subgraph'}.operators[${stuck}]`);
  }
  return order;
}

/** True when the tensor holds constant data: a non-empty buffer and no operator writing it. */
export function isConstant(model: Model, subgraph: SubGraph, tensorIndex: number): boolean {
  const tensor = subgraph.tensors[tensorIndex];
  if (!tensor) return false;
  const data = model.buffers[tensor.buffer]?.data;
  return data !== undefined && data.length > 0 && !producers(subgraph).has(tensorIndex);
}

/** Bytes of the operator's constant inputs (weights, biases), each tensor once; 0 for custom ops,
 * whose weights (if any) live in their custom options. */
export function parameterBytes(model: Model, subgraph: SubGraph, opIndex: number): number {
  const op = operatorAt(subgraph, opIndex);
  if (isCustomOperator(model, op)) return 0;
  let bytes = 0;
  for (const t of new Set(op.inputs)) {
    if (t >= 0 && isConstant(model, subgraph, t)) bytes += model.buffers[subgraph.tensors[t].buffer].data.length;
  }
  return bytes;
}

/** Bytes of the operator's non-constant inputs and outputs (each tensor once), from type and shape. */
export function activationBytes(model: Model, subgraph: SubGraph, opIndex: number): number {
  const op = operatorAt(subgraph, opIndex);
  let bytes = 0;
  for (const t of new Set([...op.inputs, ...op.outputs])) {
    if (t < 0 || isConstant(model, subgraph, t)) continue;
    const tensor = subgraph.tensors[t];
    bytes += byteSizeOf(tensor.type, tensor.shape);
  }
  return bytes;
}

function operatorAt(subgraph: SubGraph, opIndex: number): Operator {
  const op = subgraph.operators[opIndex];
  if (!op) throw new RangeError(`operator index ${opIndex} out of range (${subgraph.operators.length} operators)`);
  return op;
}

/** A binary min-heap of operator indices. */
class MinHeap {
  private readonly items: number[] = [];

  get size(): number {
    return this.items.length;
  }

  push(value: number): void {
    const a = this.items;
    a.push(value);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (a[parent] <= a[i]) break;
      [a[parent], a[i]] = [a[i], a[parent]];
      i = parent;
    }
  }

  pop(): number {
    const a = this.items;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l] < a[m]) m = l;
        if (r < a.length && a[r] < a[m]) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
}
