/**
 * What a tensor is, for every layer: element types and their sizes, the typed arrays that hold tensor
 * data (views, copies as bytes), named tensors, a tensor's spec (name, type, shape, quantization), and
 * the check of tensors handed in by name against their specs. No other module of the project is below it.
 */

/** Element types by their TFLite names, lower-cased. */
export type DType =
  | 'float32' | 'float16' | 'float64'
  | 'int8' | 'int16' | 'int32' | 'int64'
  | 'uint8' | 'uint16' | 'uint32' | 'uint64'
  | 'bool' | 'string' | 'complex64' | 'complex128' | 'resource' | 'variant' | 'int4' | 'bfloat16';

export type TensorData =
  | Uint8Array | Uint8ClampedArray | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array
  | Float32Array | Float64Array | BigInt64Array | BigUint64Array;

/** Tensors by name: how inputs go in and outputs come out of every engine and the pipeline. */
export type NamedTensors = Record<string, TensorData>;

export interface TensorQuantization {
  /** Per-tensor scale and zero point; absent for float tensors. */
  readonly scale: number;
  readonly zeroPoint: number;
}

export interface TensorSpec {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Bytes of one tensor of this spec (product of the shape times the element size). */
  readonly byteSize: number;
  readonly quantization?: TensorQuantization;
}

type TypedArrayConstructor = {
  new (length: number): TensorData;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): TensorData;
  readonly BYTES_PER_ELEMENT: number;
};

/** The typed array class that holds each element type; types without one travel as raw bytes. */
const ARRAY_OF: Partial<Record<DType, TypedArrayConstructor>> = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
  bool: Uint8Array,
  float16: Uint16Array,
  bfloat16: Uint16Array,
};

/** Bytes per element; 0 for types whose size is not fixed (string, resource, variant, int4). */
export function elementSize(dtype: DType): number {
  switch (dtype) {
    case 'complex64': return 8;
    case 'complex128': return 16;
    default: return ARRAY_OF[dtype]?.BYTES_PER_ELEMENT ?? 0;
  }
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * Math.max(d, 1), 1);
}

export function byteSizeOf(dtype: DType, shape: readonly number[]): number {
  return elementSize(dtype) * elementCount(shape);
}

/** A view of `bytes` as the typed array of `dtype` (no copy; `bytes` must be aligned). */
export function viewAs(dtype: DType, bytes: Uint8Array): TensorData {
  const Ctor = ARRAY_OF[dtype] ?? Uint8Array;
  return new Ctor(bytes.buffer, bytes.byteOffset, bytes.byteLength / Ctor.BYTES_PER_ELEMENT);
}

/** A zero-filled typed array for `count` elements of `dtype`. */
export function allocate(dtype: DType, count: number): TensorData {
  return new (ARRAY_OF[dtype] ?? Uint8Array)(count);
}

/**
 * True when `data` can stand for a `dtype` tensor: the typed array class `dtype` travels in (or a
 * subclass, such as Node's Buffer for uint8), or raw bytes (a Uint8Array, Buffer or Uint8ClampedArray)
 * for any type, since tensors are copied as bytes. Arrays of another element type are refused.
 */
export function matchesDType(dtype: DType, data: TensorData): boolean {
  return data instanceof (ARRAY_OF[dtype] ?? Uint8Array) || data instanceof Uint8Array || data instanceof Uint8ClampedArray;
}

export function bytesOf(data: TensorData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Tensors handed in by name that do not match the specs they must: names the first offender. */
export class TensorInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TensorInputError';
  }
}

/** Throws TensorInputError for a missing, extra, wrongly typed or wrongly sized tensor. */
export function checkNamedTensors(specs: readonly TensorSpec[], tensors: NamedTensors, where: string): void {
  for (const spec of specs) {
    const data: TensorData | undefined = tensors[spec.name];
    if (data === undefined) throw new TensorInputError(`${where}: missing input tensor "${spec.name}"`);
    if (!ArrayBuffer.isView(data) || !matchesDType(spec.dtype, data)) {
      const got = (data as object | null)?.constructor?.name ?? typeof data;
      throw new TensorInputError(`${where}: tensor "${spec.name}" is ${spec.dtype} but was given a ${got}`);
    }
    if (data.byteLength !== spec.byteSize) {
      throw new TensorInputError(
        `${where}: tensor "${spec.name}" needs ${spec.byteSize} bytes (${spec.dtype}[${spec.shape.join('x')}]) but was given ${data.byteLength}`,
      );
    }
  }
  if (Object.keys(tensors).length !== specs.length) {
    const known = new Set(specs.map((s) => s.name));
    const extra = Object.keys(tensors).find((name) => !known.has(name));
    throw new TensorInputError(`${where}: unknown input tensor "${extra}"; expected ${specs.map((s) => `"${s.name}"`).join(', ')}`);
  }
}
