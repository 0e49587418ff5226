/**
 * Builds one segment's standalone model from a plan: only the operators, operator codes, tensors and
 * constant buffers the segment uses, renumbered; quantization, shapes and options kept as they are.
 */
import type { Buffer, Metadata, Model, Operator, OperatorCode, SignatureDef, SubGraph, Tensor, TensorMap } from '../types.js';
import type { SegmentPlan } from './plan.js';
import { segmentableSubgraph } from './plan.js';
import { SEGMENT_METADATA_NAME, encodeSegmentInfo, type SegmentInfo } from './segment-info.js';

/**
 * Metadata entries that stay true of a segment. Everything else is dropped: TFLITE_METADATA describes
 * the whole model's inputs and outputs, and an entry we do not know might too.
 * (`min_runtime_version` of the whole model is at least what any part of it needs.)
 */
const KEPT_METADATA = new Set(['min_runtime_version', 'CONVERSION_METADATA']);

/** A remapping of indices, in first-seen order of `add`. */
class Renumbering {
  readonly map = new Map<number, number>();
  readonly order: number[] = [];
  add(old: number): number {
    let index = this.map.get(old);
    if (index === undefined) {
      index = this.order.length;
      this.map.set(old, index);
      this.order.push(old);
    }
    return index;
  }
  get(old: number): number {
    // -1 marks an omitted optional input and stays -1.
    return old < 0 ? old : this.map.get(old)!;
  }
}

export function extractSegment(model: Model, plan: SegmentPlan, info: SegmentInfo): Model {
  const subgraph = segmentableSubgraph(model);
  const operators = plan.operators.map((i) => subgraph.operators[i]!);

  // Tensors keep their relative order from the model, so segment files read like the model.
  const used = new Set<number>([...plan.inputs, ...plan.outputs]);
  for (const op of operators) for (const t of [...op.inputs, ...op.outputs, ...op.intermediates]) if (t >= 0) used.add(t);
  const tensors = new Renumbering();
  for (const t of [...used].sort((a, b) => a - b)) tensors.add(t);

  // Buffer 0 is the empty buffer TFLite expects; tensors without data all point at it.
  const buffers = new Renumbering();
  buffers.add(-1);
  const bufferOf = (old: number) => (model.buffers[old]!.data.length > 0 || model.buffers[old]!.external ? buffers.add(old) : 0);
  const newTensors: Tensor[] = tensors.order.map((t) => {
    const tensor = subgraph.tensors[t]!;
    return { ...tensor, buffer: bufferOf(tensor.buffer) };
  });

  const codes = new Renumbering();
  for (const i of [...new Set(operators.map((op) => op.opcodeIndex))].sort((a, b) => a - b)) codes.add(i);
  const newOperators: Operator[] = operators.map((op) => ({
    ...op,
    opcodeIndex: codes.get(op.opcodeIndex),
    inputs: op.inputs.map((t) => tensors.get(t)),
    outputs: op.outputs.map((t) => tensors.get(t)),
    intermediates: op.intermediates.map((t) => tensors.get(t)),
    // Debug info indexes the whole model's metadata, which the segment does not keep.
    debugMetadataIndex: -1,
  }));

  const newSubgraph: SubGraph = {
    ...subgraph,
    tensors: newTensors,
    inputs: plan.inputs.map((t) => tensors.get(t)),
    outputs: plan.outputs.map((t) => tensors.get(t)),
    operators: newOperators,
    debugMetadataIndex: -1,
  };

  const metadata: Metadata[] = model.metadata
    .filter((m) => KEPT_METADATA.has(m.name))
    .map((m) => ({ name: m.name, buffer: buffers.add(m.buffer) }));
  const metadataBuffer = model.metadataBuffer.filter((b) => buffers.map.has(b)).map((b) => buffers.get(b));
  const newBuffers: Buffer[] = buffers.order.map((old) => (old < 0 ? { data: new Uint8Array(0) } : model.buffers[old]!));
  const segmentInfoBuffer = newBuffers.length;
  newBuffers.push({ data: encodeSegmentInfo(info) });
  metadata.push({ name: SEGMENT_METADATA_NAME, buffer: segmentInfoBuffer });

  const externalIds = new Set(newTensors.map((t) => t.externalBuffer).filter((id) => id !== undefined));
  const externalBuffers = model.externalBuffers?.filter((b) => externalIds.has(b.id));
  // Not carried over: trailingData, the associated files (labels) of the dropped TFLITE_METADATA.
  return {
    version: model.version,
    description: model.description,
    ...(externalBuffers?.length ? { externalBufferGroups: model.externalBufferGroups ?? [], externalBuffers } : {}),
    operatorCodes: codes.order.map((i): OperatorCode => model.operatorCodes[i]!),
    subgraphs: [newSubgraph],
    buffers: newBuffers,
    metadata,
    metadataBuffer,
    signatureDefs: model.signatureDefs.map((sig) => rewriteSignature(sig, subgraph, plan, tensors)),
  };
}

/**
 * A signature of the segment: same key, its own inputs and outputs. Tensors the model's signature
 * named keep their names there; intermediate tensors go by their tensor names.
 */
function rewriteSignature(sig: SignatureDef, subgraph: SubGraph, plan: SegmentPlan, tensors: Renumbering): SignatureDef {
  const aliases = new Map<number, string>();
  for (const m of [...sig.inputs, ...sig.outputs]) aliases.set(m.tensorIndex, m.name);
  const entry = (t: number): TensorMap => ({ name: aliases.get(t) ?? subgraph.tensors[t]!.name, tensorIndex: tensors.get(t) });
  return { ...sig, subgraphIndex: 0, inputs: plan.inputs.map(entry), outputs: plan.outputs.map(entry) };
}
