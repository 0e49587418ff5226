/**
 * Engines described by plain data, so that a spec can be posted to a worker thread and the engine
 * opened there. Each kind's implementation is imported only when a spec of that kind is opened.
 */
import type { Engine } from './engine.js';
import type { PassThroughOptions } from './passthrough-engine.js';

export type EngineSpec =
  | {
      readonly kind: 'cpu';
      /** `cpu:N`, `litert:N` or `tflite:N`: which CPU engine runs it (cpu-engine-choice.ts). */
      readonly device: string;
      /** The .tflite bytes. */
      readonly model: Uint8Array;
      /** LiteRT's compiled WebAssembly (`compiledLiteRtWasm()`), so a worker skips the compile. */
      readonly wasm?: WebAssembly.Module;
    }
  | ({ readonly kind: 'passthrough' } & PassThroughOptions)
  | import('./edgetpu-engine.js').EdgeTpuEngineSpec;

export type EngineKind = EngineSpec['kind'];

/** The device a spec names, as engines report it (`Engine.device`). */
export function engineDevice(spec: EngineSpec): string {
  return typeof spec.device === 'string' ? spec.device : spec.device.id;
}

export async function openEngine(spec: EngineSpec): Promise<Engine> {
  switch (spec.kind) {
    case 'cpu':
      return (await import('./cpu-engine-choice.js')).openCpuEngine(spec);
    case 'passthrough': {
      const { PassThroughEngine } = await import('./passthrough-engine.js');
      return PassThroughEngine.open(spec);
    }
    case 'edgetpu':
      return (await import('./edgetpu-engine.js')).openEdgeTpuEngine(spec);
  }
}
