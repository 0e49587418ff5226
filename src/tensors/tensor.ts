/**
 * What a tensor is, for every layer: element types, the typed arrays that hold tensor data, named
 * tensors and a tensor's spec (name, type, shape, quantization). No other module of the project is below it.
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
