import type { DType, TensorData } from './tensor.js';

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
