/**
 * The contract every inference backend implements (LiteRT.js on CPU, libedgetpu through the native
 * addon, the pass-through engine used to measure the runner), so the pipeline treats them alike.
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

export interface Engine {
  /** The device this engine runs on, e.g. `cpu:0`, `usb:/sys/bus/usb/devices/2-1`. */
  readonly device: string;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /** Runs one inference. Every input by name; resolves with every output by name. */
  invoke(inputs: NamedTensors): Promise<NamedTensors>;
  /** Frees the engine's resources; invoke after dispose rejects. */
  dispose(): Promise<void>;
}

/** Raised for any failure inside an engine: load, allocation, invoke. */
export class EngineError extends Error {
  constructor(
    message: string,
    readonly device: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'EngineError';
  }
}
