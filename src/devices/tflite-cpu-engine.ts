/**
 * The native CPU engine: a model or segment run by the TensorFlow Lite C library through the addon,
 * with no Edge TPU delegate. Slower than LiteRT.js on uint8 models (its XNNPACK takes float graphs
 * only unless asked), but it runs ops LiteRT.js refuses, e.g. variable tensors (LSTMs): `auto` CPU
 * devices use it for exactly those models (cpu-engine-choice.ts).
 */
import { EngineError, type Engine } from './engine.js';
import { loadTfliteRuntime, openInterpreter } from './tflite-runtime.js';

/** XNNPACK's flags for quantized graphs: QS8 (int8) and QU8 (uint8). */
export const XNNPACK_QUANTIZED = 0x1 | 0x2;

export interface TfliteCpuEngineOptions {
  /** The id the engine reports, `tflite:0` by default. */
  readonly device?: string;
  /** Interpreter threads; 1 by default, as each CPU device is one executor. */
  readonly numThreads?: number;
  /** Apply XNNPACK's delegate with these flags (e.g. XNNPACK_QUANTIZED); TFLite's defaults when absent. */
  readonly xnnpackFlags?: number;
}

export async function loadTfliteCpuEngine(model: Uint8Array, options: TfliteCpuEngineOptions = {}): Promise<Engine> {
  const device = options.device ?? 'tflite:0';
  const { addon } = loadTfliteRuntime({}, device);
  const engine = openInterpreter(
    addon,
    model,
    { type: 'cpu', path: '', device },
    options.xnnpackFlags === undefined ? {} : { xnnpackFlags: String(options.xnnpackFlags) },
    options.numThreads ?? 1,
  );
  // One run on zeros, as the LiteRT.js engine does: a model that cannot run fails here, not on a frame.
  try {
    await engine.invoke(Object.fromEntries(engine.inputs.map((spec) => [spec.name, new Uint8Array(spec.byteSize)])));
  } catch (err) {
    await engine.dispose();
    throw new EngineError(`TensorFlow Lite cannot run the model: ${(err as Error).message}`, device, { cause: err });
  }
  return engine;
}
