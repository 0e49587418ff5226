/** Times segments on a real engine for the latency strategy: median of several invokes after warm-up. */
import type { Engine } from './engine.js';
import type { NamedTensors } from '../tensors/tensor.js';
import { openEngine } from './open-engine.js';
import { writeModel } from '../model/write-model.js';
import type { SegmentTimer } from '../model/segment/by-latency.js';
import type { Segment } from '../model/segment/cut-model.js';
import { randomTensor, seededRandom } from '../tensors/random-tensors.js';

export interface EngineTimerOptions {
  /** Timed invokes per segment; the median counts (default 5). */
  readonly repeats?: number;
  /** Untimed invokes first, to settle caches and lazy set-up (default 1). */
  readonly warmup?: number;
  /** Opens a segment's model; the CPU engine by default. */
  readonly open?: (bytes: Uint8Array) => Promise<Engine>;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export function engineTimer(options: EngineTimerOptions = {}): SegmentTimer {
  const repeats = Math.max(1, options.repeats ?? 5);
  const warmup = Math.max(0, options.warmup ?? 1);
  const open = options.open ?? ((bytes: Uint8Array) => openEngine({ kind: 'cpu', device: 'cpu:0', model: bytes }));
  return async (segment: Segment) => {
    const engine = await open(writeModel(segment.model));
    try {
      const random = seededRandom(segment.operators[0] ?? 0);
      const inputs: NamedTensors = {};
      for (const spec of engine.inputs) inputs[spec.name] = randomTensor(spec, random);
      for (let i = 0; i < warmup; i++) await engine.invoke(inputs);
      const times: number[] = [];
      for (let i = 0; i < repeats; i++) {
        const start = performance.now();
        await engine.invoke(inputs);
        times.push(performance.now() - start);
      }
      return median(times);
    } finally {
      await engine.dispose();
    }
  };
}
