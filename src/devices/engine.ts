/**
 * The contract every inference backend implements (LiteRT.js on CPU, libedgetpu through the native
 * addon, the pass-through engine used to measure the runner), so the pipeline treats them alike.
 */

import type { NamedTensors, TensorSpec } from '../tensors/tensor.js';

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
