/** Pipelines of pass-through stages: each copies its input tensor to its output, no inference. */
import type { EngineSpec } from '../../src/devices/open-engine.js';

/** `stages` stages of `bytes`-byte uint8 tensors, each copying its input to its output. */
export function passThrough(stages: number, bytes: number): EngineSpec[] {
  const t = (i: number) => ({ name: `t${i}`, dtype: 'uint8' as const, shape: [bytes], byteSize: bytes });
  return Array.from({ length: stages }, (_, i) => ({ kind: 'passthrough' as const, device: `pt:${i}`, inputs: [t(i)], outputs: [t(i + 1)] }));
}
