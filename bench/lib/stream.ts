/** The model_pipelining loop as a measurement: one producer pushes while one consumer pops and releases. */
import { PipelinedModelRunner, type RunnerOptions } from '../../src/pipeline/runner.js';
import type { SegmentSource } from '../../src/pipeline/segment-source.js';
import { RecentSamples } from '../../src/pipeline/stats.js';
import { imageToTensor } from '../../src/image/to-tensor.js';

export interface StreamResult {
  items: number;
  itemsPerSecond: number;
  /** Per item, push accepted to pop returned, in push order. */
  latenciesMs: number[];
  latencyMsP50: number;
  latencyMsP99: number;
  /** CPU time of this process (main thread and executors) per item. */
  cpuMsPerItem: number;
  runner: PipelinedModelRunner;
  peakRss: number;
}

/** Nearest-rank percentile (0..100) of `values`; 0 for none. */
export function percentile(values: readonly number[], p: number): number {
  const samples = new RecentSamples(Math.max(1, values.length));
  for (const v of values) samples.add(v);
  return samples.percentile(p);
}

/** Streams `warmup` then `count` items through a new runner for `segments`, then closes it. */
export async function stream(segments: SegmentSource[], options: RunnerOptions, count: number, warmup = 10): Promise<StreamResult> {
  const runner = await PipelinedModelRunner.create(segments, options);
  try {
    if (warmup > 0) await streamThrough(runner, warmup, false);
    return await streamThrough(runner, count, false);
  } finally {
    await runner.close();
  }
}

/** Streams `count` items of constant bytes through `runner`; with `sampleRss`, tracks peak RSS while pushing. */
export async function streamThrough(runner: PipelinedModelRunner, count: number, sampleRss: boolean): Promise<StreamResult> {
  const inputs = runner.inputs.map((s) => new Uint8Array(s.byteSize).fill(7));
  const accepted = new Float64Array(count);
  const latenciesMs: number[] = [];
  let peakRss = process.memoryUsage.rss();
  const cpu = process.cpuUsage();
  const start = performance.now();
  const producer = (async () => {
    for (let i = 0; i < count; i++) {
      await runner.push(inputs);
      accepted[i] = performance.now();
      if (sampleRss && (i & 15) === 0) peakRss = Math.max(peakRss, process.memoryUsage.rss());
    }
  })();
  // The runner pops in push order, so the i-th pop is the i-th push's item.
  for (let i = 0; i < count; i++) {
    runner.release((await runner.pop())!);
    latenciesMs.push(performance.now() - accepted[i]!);
  }
  await producer;
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  return {
    items: count,
    itemsPerSecond: count / seconds,
    latenciesMs,
    latencyMsP50: percentile(latenciesMs, 50),
    latencyMsP99: percentile(latenciesMs, 99),
    cpuMsPerItem: (used.user + used.system) / 1000 / count,
    runner,
    peakRss,
  };
}

/**
 * Like `stream`, but each item is a JPEG decoded and resized into the input tensor first, `decoders`
 * at a time, as the daemon does: what the pipeline delivers once decoding shares the machine with it.
 */
export async function streamDecoded(segments: SegmentSource[], images: readonly Buffer[], count: number, decoders = 4): Promise<StreamResult> {
  const runner = await PipelinedModelRunner.create(segments, {});
  try {
    const spec = runner.inputs[0]!;
    const feed = async (n: number) => {
      let next = 0;
      const decoder = async () => {
        while (next < n) {
          const i = next++;
          await runner.push([await imageToTensor(images[i % images.length]!, spec)]);
        }
      };
      const cpu = process.cpuUsage();
      const start = performance.now();
      const producers = Promise.all(Array.from({ length: decoders }, decoder));
      for (let i = 0; i < n; i++) runner.release((await runner.pop())!);
      await producers;
      const used = process.cpuUsage(cpu);
      return { seconds: (performance.now() - start) / 1000, cpuMs: (used.user + used.system) / 1000 };
    };
    await feed(10);
    const { seconds, cpuMs } = await feed(count);
    // Latencies would include decoding waits that depend on the decoders' interleaving: not reported.
    return { items: count, itemsPerSecond: count / seconds, latenciesMs: [], latencyMsP50: NaN, latencyMsP99: NaN, cpuMsPerItem: cpuMs / count, runner, peakRss: process.memoryUsage.rss() };
  } finally {
    await runner.close();
  }
}
