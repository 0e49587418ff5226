/**
 * The engine-contract description (TensorSpec) of a model's inputs and outputs, read from the file, so
 * chains of segment files can be checked without loading them into an engine.
 */
import { type TensorSpec, byteSizeOf } from '../tensors/tensor.js';
import type { Model, Tensor } from './types.js';

export function tensorSpec(tensor: Tensor): TensorSpec {
  const q = tensor.quantization;
  // TensorSpec holds per-tensor quantization only; per-channel parameters stay in the model.
  const perTensor = q?.scale?.length === 1 && q.zeroPoint?.length === 1;
  return {
    name: tensor.name,
    dtype: tensor.type,
    shape: tensor.shape,
    byteSize: byteSizeOf(tensor.type, tensor.shape),
    ...(perTensor ? { quantization: { scale: q.scale![0]!, zeroPoint: q.zeroPoint![0]! } } : {}),
  };
}

/** Specs of the first subgraph's inputs and outputs, in the model's order. */
export function modelTensorSpecs(model: Model): { inputs: TensorSpec[]; outputs: TensorSpec[] } {
  const subgraph = model.subgraphs[0];
  if (!subgraph) return { inputs: [], outputs: [] };
  const spec = (t: number) => tensorSpec(subgraph.tensors[t]!);
  return { inputs: subgraph.inputs.map(spec), outputs: subgraph.outputs.map(spec) };
}
