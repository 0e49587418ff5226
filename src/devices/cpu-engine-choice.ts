/**
 * Opens a CPU segment on the engine its device names (device.ts `cpuEngineOf`): `litert:N` LiteRT.js,
 * `tflite:N` the native TensorFlow Lite library, `cpu:N` LiteRT.js where it can run the model (it is
 * 2.5-4x faster on uint8 models) and the native library where LiteRT.js refuses it.
 */
import { cpuEngineOf } from './device.js';
import { EngineError, type Engine } from './engine.js';

export interface CpuEngineSpec {
  readonly device: string;
  readonly model: Uint8Array;
  /** LiteRT's compiled WebAssembly, so a worker skips the compile. */
  readonly wasm?: WebAssembly.Module;
}

async function openLiteRt(spec: CpuEngineSpec): Promise<Engine> {
  const { loadLiteRtRuntime } = await import('./litert/runtime.js');
  await loadLiteRtRuntime(spec.wasm);
  const { loadCpuEngine } = await import('./cpu-engine.js');
  return loadCpuEngine(spec.model, { device: spec.device });
}

async function openTflite(spec: CpuEngineSpec): Promise<Engine> {
  const { loadTfliteCpuEngine } = await import('./tflite-cpu-engine.js');
  return loadTfliteCpuEngine(spec.model, { device: spec.device });
}

export async function openCpuEngine(spec: CpuEngineSpec): Promise<Engine> {
  const engine = cpuEngineOf(spec.device);
  if (engine === 'litert') return openLiteRt(spec);
  if (engine === 'tflite') return openTflite(spec);
  try {
    return await openLiteRt(spec);
  } catch (litertError) {
    const { UnsupportedModelError } = await import('./cpu-engine.js');
    if (!(litertError instanceof UnsupportedModelError)) throw litertError;
    try {
      return await openTflite(spec);
    } catch (tfliteError) {
      throw new EngineError(
        `neither CPU engine can run the model: LiteRT.js: ${(litertError as Error).message}; TensorFlow Lite: ${(tfliteError as Error).message}`,
        spec.device,
        { cause: tfliteError },
      );
    }
  }
}
