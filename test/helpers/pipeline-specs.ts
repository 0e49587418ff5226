/** Tensor specs and chain segments for pipeline tests, built by hand or read from model files. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type DType, type TensorSpec, byteSizeOf } from '../../src/tensors/tensor.js';
import { readModel } from '../../src/model/index.js';
import type { ChainSegment } from '../../src/model/segment/chain.js';
import type { EngineSpec } from '../../src/devices/open-engine.js';
import type { PassThroughFaults } from '../../src/devices/passthrough-engine.js';

export function spec(name: string, shape: number[] = [4], dtype: DType = 'uint8'): TensorSpec {
  return { name, dtype, shape, byteSize: byteSizeOf(dtype, shape) };
}

/** A segment reading and writing uint8 tensors of the given names. */
export function seg(name: string, inputs: string[], outputs: string[]): ChainSegment {
  return { name, inputs: inputs.map((n) => spec(n)), outputs: outputs.map((n) => spec(n)) };
}

/** The inputs and outputs of a .tflite file's main subgraph, as the engines describe them. */
export function chainSegmentOfFile(file: string): ChainSegment {
  const model = readModel(new Uint8Array(readFileSync(file)));
  const graph = model.subgraphs[0]!;
  const toSpec = (i: number): TensorSpec => {
    const t = graph.tensors[i]!;
    return { name: t.name, dtype: t.type, shape: t.shape, byteSize: byteSizeOf(t.type, t.shape) };
  };
  return { name: path.basename(file), inputs: graph.inputs.map(toSpec), outputs: graph.outputs.map(toSpec) };
}

/** `stages` pass-through segments chained t0 -> t1 -> ... of `bytes` uint8 each. */
export function passThroughChain(
  stages: number,
  bytes: number,
  extra: { delayMs?: number; faults?: Record<number, PassThroughFaults> } = {},
): Extract<EngineSpec, { kind: 'passthrough' }>[] {
  return Array.from({ length: stages }, (_, i) => ({
    kind: 'passthrough' as const,
    device: `pt:${i}`,
    inputs: [spec(`t${i}`, [bytes])],
    outputs: [spec(`t${i + 1}`, [bytes])],
    ...(extra.delayMs ? { delayMs: extra.delayMs } : {}),
    ...(extra.faults?.[i] ? { faults: extra.faults[i] } : {}),
  }));
}
