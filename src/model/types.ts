/**
 * The typed, immutable view of a TensorFlow Lite model (`.tflite`), as `readModel` returns it and
 * `writeModel` takes it. Field names follow the TFLite schema in camelCase. Scalars missing from the
 * file take their schema default; optional strings, vectors and tables are present exactly when the
 * file has them, so `readModel(writeModel(m))` deep-equals `m`.
 */
import type { DType } from '../tensors/tensor.js';

/** One value of a field of a schema table read generically (builtin options, sparsity, ...). */
export type FieldValue =
  | boolean | number | bigint | string
  /** `[ubyte]` vectors: a view into the model bytes, never a copy. */
  | Uint8Array
  | readonly number[] | readonly bigint[] | readonly boolean[] | readonly string[]
  | TableValue | readonly TableValue[]
  | UnionValue;

/** A schema table read generically: camelCase field name -> value. Scalars always hold a value
 * (their default when absent); strings, vectors, tables and unions are present only when set. */
export type TableValue = { readonly [field: string]: FieldValue };

/** A union member: the member table's schema name (e.g. `Conv2DOptions`) and its fields. */
export interface UnionValue {
  readonly type: string;
  readonly fields: TableValue;
}

export interface Model {
  /** Schema version (3 for every current model). */
  readonly version: number;
  readonly description: string;
  readonly operatorCodes: readonly OperatorCode[];
  readonly subgraphs: readonly SubGraph[];
  readonly buffers: readonly Buffer[];
  readonly metadata: readonly Metadata[];
  readonly signatureDefs: readonly SignatureDef[];
  /** Deprecated in the schema (use `metadata`), kept so it round-trips. */
  readonly metadataBuffer: readonly number[];
  /** Schema 3d: weights stored in other files (absent when the model has none). */
  readonly externalBufferGroups?: readonly ExternalBufferGroup[];
  readonly externalBuffers?: readonly ExternalBuffer[];
  /**
   * Bytes after everything the flatbuffer (and any out-of-flatbuffer data) uses, from the first
   * non-zero byte on: in practice the zip of associated files (e.g. labels) that TFLite Metadata
   * appends to a model. Kept so a rewritten model still carries them; absent when there are none.
   */
  readonly trailingData?: Uint8Array;
}

export interface ExternalBufferGroup {
  readonly name: string;
}

/** A slice of an external weights file (schema 3d); not resolved by this codec. */
export interface ExternalBuffer {
  readonly id: number;
  /** Index into `Model.externalBufferGroups`. */
  readonly group: number;
  readonly offset: bigint;
  readonly length: bigint;
  readonly packing: string;
}

export interface OperatorCode {
  /**
   * The effective builtin operator code (see `BUILTIN_OPERATORS` in schema.ts): the larger of the
   * schema's `builtin_code` and `deprecated_builtin_code`, as TFLite itself resolves it, so old
   * models that only set the deprecated byte read the same as new ones. 32 = CUSTOM.
   */
  readonly builtinCode: number;
  /** The old one-byte code (schema field 0); 127 = PLACEHOLDER_FOR_GREATER_OP_CODES for codes > 126. */
  readonly deprecatedBuiltinCode: number;
  /** The custom op's name when `builtinCode` is CUSTOM, e.g. `edgetpu-custom-op`. */
  readonly customCode?: string;
  readonly version: number;
}

export interface SubGraph {
  readonly name: string;
  readonly tensors: readonly Tensor[];
  /** Tensor indices of the subgraph's inputs and outputs. */
  readonly inputs: readonly number[];
  readonly outputs: readonly number[];
  readonly operators: readonly Operator[];
  /** Index of the subgraph's debug metadata; absent when none (schema default -1). */
  readonly debugMetadataIndex?: number;
}

export interface Tensor {
  readonly name: string;
  readonly type: DType;
  readonly shape: readonly number[];
  /** Shape with -1 for dynamic dimensions; absent when the converter did not write one. */
  readonly shapeSignature?: readonly number[];
  /** Index into `Model.buffers`; 0 is the conventional empty buffer (no constant data). */
  readonly buffer: number;
  readonly quantization?: Quantization;
  readonly isVariable: boolean;
  readonly sparsity?: Sparsity;
  /** False for tensors of unknown rank (then `shape` is meaningless). */
  readonly hasRank: boolean;
  /** Sub-types of a `variant` tensor. */
  readonly variantTensors?: readonly VariantSubType[];
  /** Schema 3d: the `id` of the `Model.externalBuffers` entry holding the data; absent when 0 (data in `buffer`). */
  readonly externalBuffer?: number;
}

export interface Quantization {
  readonly min?: readonly number[];
  readonly max?: readonly number[];
  /** One scale per tensor, or one per slice along `quantizedDimension` (per-channel). */
  readonly scale?: readonly number[];
  /**
   * Zero points as plain numbers (the schema stores int64; every real zero point fits a quantized
   * element type, so `readModel` rejects values beyond Number.MAX_SAFE_INTEGER instead of rounding).
   */
  readonly zeroPoint?: readonly number[];
  /** The `details` union, e.g. `{ type: 'CustomQuantization', fields: { custom: Uint8Array } }`. */
  readonly details?: UnionValue;
  readonly quantizedDimension: number;
}

/** Sparse tensor encoding (schema `SparsityParameters`), read generically. */
export interface Sparsity {
  readonly traversalOrder?: readonly number[];
  readonly blockMap?: readonly number[];
  readonly dimMetadata?: readonly DimensionMetadata[];
}

export interface DimensionMetadata {
  /** 0 = DENSE, 1 = SPARSE_CSR. */
  readonly format: number;
  readonly denseSize: number;
  /** `{ type: 'Int32Vector' | 'Uint16Vector' | 'Uint8Vector', fields: { values?: number[] } }`. */
  readonly arraySegments?: UnionValue;
  readonly arrayIndices?: UnionValue;
}

export interface VariantSubType {
  readonly shape?: readonly number[];
  readonly type: DType;
  readonly hasRank: boolean;
}

export interface Operator {
  /** Index into `Model.operatorCodes`. */
  readonly opcodeIndex: number;
  /** Tensor indices; -1 marks an omitted optional input and is kept as is. */
  readonly inputs: readonly number[];
  readonly outputs: readonly number[];
  readonly intermediates: readonly number[];
  /** The `builtin_options` union, e.g. `{ type: 'Conv2DOptions', fields: { padding: 1, strideW: 2, ... } }`;
   * enum-typed fields hold their numeric value. */
  readonly builtinOptions?: UnionValue;
  /** The `builtin_options_2` union (StableHLO ops and later). */
  readonly builtinOptions2?: UnionValue;
  /** Custom op payload (a view into the model bytes). Also filled from the out-of-flatbuffer
   * region when the file used `large_custom_options_offset/size`. */
  readonly customOptions?: Uint8Array;
  /** 0 = FLEXBUFFERS. */
  readonly customOptionsFormat: number;
  readonly mutatingVariableInputs?: readonly boolean[];
  /**
   * True when the custom options live outside the flatbuffer (schema
   * `large_custom_options_offset/size`, models over 2 GB); `writeModel` then writes them after the
   * flatbuffer again and recomputes offset and size (file positions are not part of the model).
   */
  readonly largeCustomOptions?: boolean;
  /** Index of the operator's debug metadata; absent when none (schema default -1). */
  readonly debugMetadataIndex?: number;
}

export interface Buffer {
  /** The constant data (a view into the model bytes, never a copy); empty for non-constant tensors. */
  readonly data: Uint8Array;
  /**
   * True when the data lives outside the flatbuffer (schema `Buffer.offset/size`, used by models over
   * 2 GB); `writeModel` writes such data after the flatbuffer, 16-byte aligned, and recomputes offset
   * and size, so file positions are not part of the model.
   */
  readonly external?: boolean;
}

export interface Metadata {
  readonly name: string;
  /** Index into `Model.buffers`. */
  readonly buffer: number;
}

export interface TensorMap {
  readonly name: string;
  /** Index into the signature's subgraph's tensors. */
  readonly tensorIndex: number;
}

export interface SignatureDef {
  readonly inputs: readonly TensorMap[];
  readonly outputs: readonly TensorMap[];
  readonly signatureKey: string;
  /** Deprecated in the schema; kept so it round-trips. */
  readonly deprecatedTag?: string;
  readonly subgraphIndex: number;
}
