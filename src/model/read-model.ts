/**
 * readModel: .tflite bytes -> typed Model. The generic reader checks the flatbuffer's structure;
 * this module checks what the schema cannot say (indices in range, known tensor types, buffers outside
 * the flatbuffer inside the file) and gives the model its typed, defaulted shape.
 */
import type { DType } from '../tensors/tensor.js';
import { ModelFormatError } from './errors.js';
import { FlatbufferReader } from './flatbuffer-reader.js';
import { TENSOR_TYPES } from './schema.js';
import type {
  Buffer, ExternalBuffer, ExternalBufferGroup, FieldValue, Metadata, Model, Operator, OperatorCode,
  Quantization, SignatureDef, Sparsity, SubGraph, TableValue, Tensor, TensorMap, UnionValue, VariantSubType,
} from './types.js';

export const FILE_IDENTIFIER = 'TFL3';

/** TFLite TensorType name -> DType, for the types DType can express. */
const DTYPE_OF: Readonly<Record<string, DType>> = {
  FLOAT32: 'float32', FLOAT16: 'float16', INT32: 'int32', UINT8: 'uint8', INT64: 'int64', STRING: 'string',
  BOOL: 'bool', INT16: 'int16', COMPLEX64: 'complex64', INT8: 'int8', FLOAT64: 'float64',
  COMPLEX128: 'complex128', UINT64: 'uint64', RESOURCE: 'resource', VARIANT: 'variant', UINT32: 'uint32',
  UINT16: 'uint16', INT4: 'int4', BFLOAT16: 'bfloat16',
};

export function dtypeOfTensorType(code: number, where: string): DType {
  const name = TENSOR_TYPES[code];
  const dtype = name === undefined ? undefined : DTYPE_OF[name];
  if (!dtype) {
    throw new ModelFormatError(
      name ? `tensor type ${name} (${code}) is not supported` : `unknown tensor type code ${code}`,
      where,
    );
  }
  return dtype;
}

/** Decodes and validates a .tflite model. Buffer data and custom options are views into `bytes`. */
export function readModel(bytes: Uint8Array): Model {
  if (bytes.length < 8) throw new ModelFormatError(`file of ${bytes.length} bytes is too short for a flatbuffer`, 'byte 0');
  const identifier = String.fromCharCode(...bytes.subarray(4, 8));
  // TFLite's own verifier insists on the identifier, so a file without it is not a model.
  if (identifier !== FILE_IDENTIFIER) {
    throw new ModelFormatError(`file identifier is ${JSON.stringify(identifier)}, expected "${FILE_IDENTIFIER}"`, 'byte 4');
  }
  const reader = new FlatbufferReader(bytes);
  const root = reader.follow(0, 'root');
  const decoder = new ModelDecoder(reader);
  const model = decoder.model(reader.table(root, 'Model', ''));
  const trailingData = trailing(reader.bytes, Math.max(reader.referencedEnd, decoder.outsideEnd));
  return trailingData ? { ...model, trailingData } : model;
}

/** The bytes from the first non-zero byte at or after `end` (zero padding is not data). */
function trailing(bytes: Uint8Array, end: number): Uint8Array | undefined {
  let start = end;
  while (start < bytes.length && bytes[start] === 0) start++;
  return start < bytes.length ? bytes.subarray(start) : undefined;
}

const list = <T>(v: FieldValue | undefined): readonly T[] => (v ?? []) as readonly T[];

class ModelDecoder {
  /** One past the last byte of data stored outside the flatbuffer. */
  outsideEnd = 0;

  constructor(private readonly reader: FlatbufferReader) {}

  model(t: TableValue): Model {
    const buffers = list<TableValue>(t.buffers).map((b, i) => this.buffer(b, `buffers[${i}]`));
    const operatorCodes = list<TableValue>(t.operatorCodes).map((c) => this.operatorCode(c));
    const subgraphs = list<TableValue>(t.subgraphs).map((s, i) =>
      this.subgraph(s, `subgraphs[${i}]`, operatorCodes.length, buffers.length),
    );
    const metadata = list<TableValue>(t.metadata).map((m, i): Metadata => {
      const buffer = m.buffer as number;
      inRange(buffer, buffers.length, `metadata[${i}].buffer`, 'buffer');
      return { name: (m.name as string | undefined) ?? '', buffer };
    });
    const metadataBuffer = list<number>(t.metadataBuffer);
    metadataBuffer.forEach((b, i) => inRange(b, buffers.length, `metadataBuffer[${i}]`, 'buffer'));
    const signatureDefs = list<TableValue>(t.signatureDefs).map((s, i) => this.signatureDef(s, `signatureDefs[${i}]`, subgraphs));
    return {
      version: t.version as number,
      description: (t.description as string | undefined) ?? '',
      operatorCodes,
      subgraphs,
      buffers,
      metadata,
      signatureDefs,
      metadataBuffer,
      ...(t.externalBufferGroups !== undefined && {
        externalBufferGroups: list<TableValue>(t.externalBufferGroups).map((g): ExternalBufferGroup => ({ name: (g.name as string | undefined) ?? '' })),
      }),
      ...(t.externalBuffers !== undefined && {
        externalBuffers: list<TableValue>(t.externalBuffers).map((e): ExternalBuffer => ({
          id: e.id as number, group: e.group as number, offset: e.offset as bigint, length: e.length as bigint,
          packing: (e.packing as string | undefined) ?? '',
        })),
      }),
    };
  }

  operatorCode(t: TableValue): OperatorCode {
    const deprecatedBuiltinCode = t.deprecatedBuiltinCode as number;
    return {
      builtinCode: Math.max(t.builtinCode as number, deprecatedBuiltinCode),
      deprecatedBuiltinCode,
      ...(t.customCode !== undefined && { customCode: t.customCode as string }),
      version: t.version as number,
    };
  }

  /** Buffer data inside the flatbuffer, or at `offset` in the file (offset > 1, the 2 GB form). */
  buffer(t: TableValue, where: string): Buffer {
    const offset = t.offset as bigint;
    if (offset <= 1n) return { data: (t.data as Uint8Array | undefined) ?? new Uint8Array(0) };
    if (t.data !== undefined && (t.data as Uint8Array).length > 0) {
      throw new ModelFormatError('buffer has both inline data and an offset', where);
    }
    return { data: this.outside(offset, t.size as bigint, where), external: true };
  }

  private outside(offset: bigint, size: bigint, where: string): Uint8Array {
    const length = BigInt(this.reader.length);
    if (offset + size > length) {
      throw new ModelFormatError(`data at offset ${offset} (${size} bytes) lies outside the ${length}-byte file`, where);
    }
    const end = Number(offset + size);
    this.outsideEnd = Math.max(this.outsideEnd, end);
    return this.reader.bytes.subarray(Number(offset), end);
  }

  subgraph(t: TableValue, where: string, opcodeCount: number, bufferCount: number): SubGraph {
    const tensors = list<TableValue>(t.tensors).map((x, i) => this.tensor(x, `${where}.tensors[${i}]`, bufferCount));
    const n = tensors.length;
    const inputs = list<number>(t.inputs);
    const outputs = list<number>(t.outputs);
    inputs.forEach((x, i) => inRange(x, n, `${where}.inputs[${i}]`, 'tensor'));
    outputs.forEach((x, i) => inRange(x, n, `${where}.outputs[${i}]`, 'tensor'));
    const operators = list<TableValue>(t.operators).map((o, i) => this.operator(o, `${where}.operators[${i}]`, opcodeCount, n));
    return {
      name: (t.name as string | undefined) ?? '',
      tensors,
      inputs,
      outputs,
      operators,
      ...(t.debugMetadataIndex !== -1 && { debugMetadataIndex: t.debugMetadataIndex as number }),
    };
  }

  tensor(t: TableValue, where: string, bufferCount: number): Tensor {
    const buffer = t.buffer as number;
    // 0 means "no data" by convention, even in a model with no buffers at all.
    if (buffer !== 0) inRange(buffer, bufferCount, `${where}.buffer`, 'buffer');
    return {
      name: (t.name as string | undefined) ?? '',
      type: dtypeOfTensorType(t.type as number, `${where}.type`),
      shape: list<number>(t.shape),
      ...(t.shapeSignature !== undefined && { shapeSignature: t.shapeSignature as number[] }),
      buffer,
      ...(t.quantization !== undefined && { quantization: this.quantization(t.quantization as TableValue, `${where}.quantization`) }),
      isVariable: t.isVariable as boolean,
      ...(t.sparsity !== undefined && { sparsity: t.sparsity as Sparsity }),
      hasRank: t.hasRank as boolean,
      ...(t.variantTensors !== undefined && {
        variantTensors: list<TableValue>(t.variantTensors).map((v, i): VariantSubType => ({
          ...(v.shape !== undefined && { shape: v.shape as number[] }),
          type: dtypeOfTensorType(v.type as number, `${where}.variantTensors[${i}].type`),
          hasRank: v.hasRank as boolean,
        })),
      }),
      ...(t.externalBuffer !== 0 && { externalBuffer: t.externalBuffer as number }),
    };
  }

  quantization(t: TableValue, where: string): Quantization {
    let zeroPoint: number[] | undefined;
    if (t.zeroPoint !== undefined) {
      zeroPoint = (t.zeroPoint as bigint[]).map((z, i) => {
        const n = Number(z);
        if (!Number.isSafeInteger(n)) throw new ModelFormatError(`zero point ${z} is beyond ±2^53`, `${where}.zeroPoint[${i}]`);
        return n;
      });
    }
    return {
      ...(t.min !== undefined && { min: t.min as number[] }),
      ...(t.max !== undefined && { max: t.max as number[] }),
      ...(t.scale !== undefined && { scale: t.scale as number[] }),
      ...(zeroPoint && { zeroPoint }),
      ...(t.details !== undefined && { details: t.details as UnionValue }),
      quantizedDimension: t.quantizedDimension as number,
    };
  }

  operator(t: TableValue, where: string, opcodeCount: number, tensorCount: number): Operator {
    const opcodeIndex = t.opcodeIndex as number;
    inRange(opcodeIndex, opcodeCount, `${where}.opcodeIndex`, 'operator code');
    const indices = (name: 'inputs' | 'outputs' | 'intermediates') => {
      const values = list<number>(t[name]);
      // -1 marks an omitted optional tensor.
      values.forEach((x, i) => x === -1 || inRange(x, tensorCount, `${where}.${name}[${i}]`, 'tensor'));
      return values;
    };
    const largeOffset = t.largeCustomOptionsOffset as bigint;
    let customOptions = t.customOptions as Uint8Array | undefined;
    const largeCustomOptions = largeOffset > 1n;
    if (largeCustomOptions) {
      if (customOptions !== undefined && customOptions.length > 0) {
        throw new ModelFormatError('operator has both inline custom options and large_custom_options_offset', where);
      }
      customOptions = this.outside(largeOffset, t.largeCustomOptionsSize as bigint, `${where}.largeCustomOptionsOffset`);
    }
    return {
      opcodeIndex,
      inputs: indices('inputs'),
      outputs: indices('outputs'),
      intermediates: indices('intermediates'),
      ...(t.builtinOptions !== undefined && { builtinOptions: t.builtinOptions as UnionValue }),
      ...(t.builtinOptions2 !== undefined && { builtinOptions2: t.builtinOptions2 as UnionValue }),
      ...(customOptions !== undefined && { customOptions }),
      customOptionsFormat: t.customOptionsFormat as number,
      ...(t.mutatingVariableInputs !== undefined && { mutatingVariableInputs: t.mutatingVariableInputs as boolean[] }),
      ...(largeCustomOptions && { largeCustomOptions }),
      ...(t.debugMetadataIndex !== -1 && { debugMetadataIndex: t.debugMetadataIndex as number }),
    };
  }

  signatureDef(t: TableValue, where: string, subgraphs: readonly SubGraph[]): SignatureDef {
    const subgraphIndex = t.subgraphIndex as number;
    inRange(subgraphIndex, subgraphs.length, `${where}.subgraphIndex`, 'subgraph');
    const tensorCount = subgraphs[subgraphIndex].tensors.length;
    const maps = (name: 'inputs' | 'outputs') =>
      list<TableValue>(t[name]).map((m, i): TensorMap => {
        const tensorIndex = m.tensorIndex as number;
        inRange(tensorIndex, tensorCount, `${where}.${name}[${i}].tensorIndex`, 'tensor');
        return { name: (m.name as string | undefined) ?? '', tensorIndex };
      });
    return {
      inputs: maps('inputs'),
      outputs: maps('outputs'),
      signatureKey: (t.signatureKey as string | undefined) ?? '',
      ...(t.deprecatedTag !== undefined && { deprecatedTag: t.deprecatedTag as string }),
      subgraphIndex,
    };
  }
}

function inRange(index: number, count: number, where: string, what: string): void {
  if (!(index >= 0 && index < count)) {
    throw new ModelFormatError(`${what} index ${index} is out of range (${count} ${what}s)`, where);
  }
}
