/** Copying an item's inputs into its slab and viewing its outputs there, at the layout's offsets. */
import type { NamedTensors, TensorSpec } from '../tensors/tensor.js';
import { bytesOf, viewAs } from '../tensors/dtype.js';
import type { SlabLayout } from './slab-layout.js';

/** `inputs` must already have been checked against `specs`. */
export function writeInputs(layout: SlabLayout, specs: readonly TensorSpec[], inputs: NamedTensors, slab: SharedArrayBuffer): void {
  for (const spec of specs) {
    const p = layout.placements.get(spec.name)!;
    new Uint8Array(slab, p.byteOffset, p.byteSize).set(bytesOf(inputs[spec.name]!));
  }
}

/** Typed views on the slab, not copies: they stay valid until the slab is reused. */
export function viewOutputs(layout: SlabLayout, specs: readonly TensorSpec[], slab: SharedArrayBuffer): NamedTensors {
  const outputs: NamedTensors = {};
  for (const spec of specs) {
    const p = layout.placements.get(spec.name)!;
    outputs[spec.name] = viewAs(spec.dtype, new Uint8Array(slab, p.byteOffset, p.byteSize));
  }
  return outputs;
}

/** Copies of `outputs` in their own memory, typed as their specs say. */
export function detachOutputs(specs: readonly TensorSpec[], outputs: NamedTensors): NamedTensors {
  return Object.fromEntries(specs.map((spec) => [spec.name, viewAs(spec.dtype, bytesOf(outputs[spec.name]!).slice())]));
}
