/** Camera frames decoded, resized and converted as the daemon does (imageToTensor), a number at a time. */
import { imageToTensor } from '../../src/image/to-tensor.js';
import type { TensorSpec } from '../../src/tensors/tensor.js';

/** mobilenet's input: what the daemon decodes every frame into. */
export const MOBILENET_INPUT: TensorSpec = { name: 'input', dtype: 'uint8', shape: [1, 224, 224, 3], byteSize: 224 * 224 * 3 };

/** Decodes `count` of `frames` in turn, `parallel` at a time (after one warm-up pass): wall seconds and the process's CPU ms. */
export async function decodeFrames(frames: readonly Buffer[], count: number, parallel: number, spec = MOBILENET_INPUT): Promise<{ seconds: number; cpuMs: number }> {
  for (const f of frames) await imageToTensor(f, spec);
  const cpu = process.cpuUsage();
  const start = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < count) await imageToTensor(frames[next++ % frames.length]!, spec);
  };
  await Promise.all(Array.from({ length: parallel }, lane));
  const used = process.cpuUsage(cpu);
  return { seconds: (performance.now() - start) / 1000, cpuMs: (used.user + used.system) / 1000 };
}

/**
 * sharp's decode+resize rate on this machine: the best of `cores`, 2 x `cores` and 3 x `cores` frames
 * at a time (`count` each), since with only `cores` at a time the cores idle while each frame's work
 * passes between threads. With the CPU ms per frame of that run.
 */
export async function sharpRate(frames: readonly Buffer[], count: number, cores: number, spec = MOBILENET_INPUT): Promise<{ rate: number; cpuMsPerFrame: number; parallel: number }> {
  let best = { rate: 0, cpuMsPerFrame: NaN, parallel: 0 };
  for (const parallel of [cores, 2 * cores, 3 * cores]) {
    const { seconds, cpuMs } = await decodeFrames(frames, count, parallel, spec);
    if (count / seconds > best.rate) best = { rate: count / seconds, cpuMsPerFrame: cpuMs / count, parallel };
  }
  return best;
}
