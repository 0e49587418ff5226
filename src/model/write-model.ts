/**
 * writeModel: typed Model -> .tflite bytes, with the `flatbuffers` Builder. Buffer data inside the
 * flatbuffer starts on 16-byte boundaries, as TFLite expects for mmap-friendly access. Buffers and
 * custom options marked as outside the flatbuffer (the >2 GB form) are appended after it, each on a
 * 16-byte boundary, with their offset/size fields pointing there.
 */
import { Builder } from 'flatbuffers';
import { FILE_IDENTIFIER } from './read-model.js';
import { writeTable } from './flatbuffer-writer.js';
import { TENSOR_TYPES } from './schema.js';
import type { DType } from '../tensors/tensor.js';
import type { FieldValue, Model, Operator, SubGraph, TableValue, Tensor } from './types.js';

const ALIGN = 16;

const TENSOR_TYPE_CODE: ReadonlyMap<string, number> = new Map(TENSOR_TYPES.map((name, code) => [name.toLowerCase(), code]));

function tensorTypeCode(dtype: DType): number {
  const code = TENSOR_TYPE_CODE.get(dtype);
  if (code === undefined) throw new TypeError(`no TFLite tensor type for ${dtype}`);
  return code;
}

/** Where each out-of-flatbuffer blob goes: offsets are absolute file positions. */
interface Placement {
  buffers: Map<number, bigint>;
  customOptions: Map<Operator, bigint>;
}

export function writeModel(model: Model): Uint8Array {
  // Out-of-flatbuffer offsets are u64 fields that are always written, so the flatbuffer's size does not
  // depend on their values: build once with placeholders to learn its size, then again with real ones.
  const blobs = outsideBlobs(model);
  if (blobs.length === 0) return appendTrailing(build(model, { buffers: new Map(), customOptions: new Map() }), model.trailingData);
  const placeholder: Placement = { buffers: new Map(), customOptions: new Map() };
  for (const blob of blobs) blob.place(placeholder, 2n);
  const size = build(model, placeholder).length;
  const placement: Placement = { buffers: new Map(), customOptions: new Map() };
  let end = alignUp(size);
  for (const blob of blobs) {
    blob.place(placement, BigInt(end));
    end = alignUp(end + blob.data.length);
  }
  const flatbuffer = build(model, placement);
  if (flatbuffer.length !== size) throw new Error('writeModel: flatbuffer size changed between passes');
  const file = new Uint8Array(end);
  file.set(flatbuffer, 0);
  for (const blob of blobs) {
    const at = Number(blob.at(placement));
    file.set(blob.data, at);
  }
  return appendTrailing(file, model.trailingData);
}

/** The file with `trailing` (e.g. an associated-files zip) after it, on a 16-byte boundary. */
function appendTrailing(file: Uint8Array, trailing: Uint8Array | undefined): Uint8Array {
  if (!trailing || trailing.length === 0) return file;
  const at = alignUp(file.length);
  const out = new Uint8Array(at + trailing.length);
  out.set(file, 0);
  out.set(trailing, at);
  return out;
}

interface Blob {
  data: Uint8Array;
  place(p: Placement, at: bigint): void;
  at(p: Placement): bigint;
}

function outsideBlobs(model: Model): Blob[] {
  const blobs: Blob[] = [];
  model.buffers.forEach((buffer, i) => {
    if (buffer.external) {
      blobs.push({ data: buffer.data, place: (p, at) => p.buffers.set(i, at), at: (p) => p.buffers.get(i)! });
    }
  });
  for (const subgraph of model.subgraphs) {
    for (const op of subgraph.operators) {
      if (op.largeCustomOptions) {
        const data = op.customOptions ?? new Uint8Array(0);
        blobs.push({ data, place: (p, at) => p.customOptions.set(op, at), at: (p) => p.customOptions.get(op)! });
      }
    }
  }
  return blobs;
}

const alignUp = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

function build(model: Model, placement: Placement): Uint8Array {
  const b = new Builder(1024 + model.buffers.reduce((n, buffer) => n + (buffer.external ? 0 : buffer.data.length + ALIGN), 0));
  const root = writeTable(b, 'Model', modelTable(model, placement));
  b.finish(root, FILE_IDENTIFIER);
  return b.asUint8Array();
}

/** Drops undefined entries, so that absent optional fields stay absent in the written file. */
function table(fields: Record<string, FieldValue | undefined>): TableValue {
  const out: Record<string, FieldValue> = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) out[k] = v;
  return out;
}

const nonEmpty = <T>(v: readonly T[] | undefined): readonly T[] | undefined => (v && v.length > 0 ? v : undefined);

function modelTable(m: Model, placement: Placement): TableValue {
  return table({
    version: m.version,
    operatorCodes: m.operatorCodes.map((c) =>
      table({
        // Codes past 126 do not fit the old byte: it then holds PLACEHOLDER_FOR_GREATER_OP_CODES.
        deprecatedBuiltinCode: c.deprecatedBuiltinCode,
        customCode: c.customCode,
        version: c.version,
        builtinCode: c.builtinCode,
      }),
    ),
    subgraphs: m.subgraphs.map((s) => subgraphTable(s, placement)),
    description: m.description === '' ? undefined : m.description,
    buffers: m.buffers.map((buffer, i) => {
      const at = placement.buffers.get(i);
      return at === undefined
        ? table({ data: buffer.data.length > 0 ? buffer.data : undefined })
        : table({ offset: at, size: BigInt(buffer.data.length) });
    }),
    metadataBuffer: nonEmpty(m.metadataBuffer),
    metadata: nonEmpty(m.metadata.map((x) => table({ name: x.name, buffer: x.buffer }))),
    signatureDefs: nonEmpty(
      m.signatureDefs.map((s) =>
        table({
          inputs: s.inputs.map((x) => table({ name: x.name, tensorIndex: x.tensorIndex })),
          outputs: s.outputs.map((x) => table({ name: x.name, tensorIndex: x.tensorIndex })),
          signatureKey: s.signatureKey,
          deprecatedTag: s.deprecatedTag,
          subgraphIndex: s.subgraphIndex,
        }),
      ),
    ),
    externalBufferGroups: m.externalBufferGroups?.map((g) => table({ name: g.name })),
    externalBuffers: m.externalBuffers?.map((e) =>
      table({ id: e.id, group: e.group, offset: e.offset, length: e.length, packing: e.packing }),
    ),
  });
}

function subgraphTable(s: SubGraph, placement: Placement): TableValue {
  return table({
    tensors: s.tensors.map(tensorTable),
    inputs: s.inputs,
    outputs: s.outputs,
    operators: s.operators.map((op) => {
      const at = placement.customOptions.get(op);
      return table({
        opcodeIndex: op.opcodeIndex,
        inputs: op.inputs,
        outputs: op.outputs,
        builtinOptions: op.builtinOptions,
        customOptions: at === undefined ? op.customOptions : undefined,
        customOptionsFormat: op.customOptionsFormat,
        mutatingVariableInputs: op.mutatingVariableInputs,
        intermediates: nonEmpty(op.intermediates),
        largeCustomOptionsOffset: at,
        largeCustomOptionsSize: at === undefined ? undefined : BigInt(op.customOptions?.length ?? 0),
        builtinOptions2: op.builtinOptions2,
        debugMetadataIndex: op.debugMetadataIndex,
      });
    }),
    name: s.name,
    debugMetadataIndex: s.debugMetadataIndex,
  });
}

function tensorTable(t: Tensor): TableValue {
  const q = t.quantization;
  return table({
    shape: t.shape,
    type: tensorTypeCode(t.type),
    buffer: t.buffer,
    name: t.name,
    quantization: q && table({
      min: q.min,
      max: q.max,
      scale: q.scale,
      zeroPoint: q.zeroPoint?.map((z) => BigInt(z)),
      details: q.details,
      quantizedDimension: q.quantizedDimension,
    }),
    isVariable: t.isVariable,
    sparsity: t.sparsity as TableValue | undefined,
    shapeSignature: t.shapeSignature,
    hasRank: t.hasRank,
    variantTensors: t.variantTensors?.map((v) => table({ shape: v.shape, type: tensorTypeCode(v.type), hasRank: v.hasRank })),
    externalBuffer: t.externalBuffer,
  });
}
