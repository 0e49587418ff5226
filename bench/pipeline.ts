/**
 * Pipeline benchmarks: runner overhead with pass-through stages, memory under a burst of pushes, and
 * mobilenet_v2 whole vs segmented vs replicated on CPU executors.
 */
import type { BenchModule, BenchSection } from './lib/bench.js';
import type { EngineSpec } from '../src/devices/open-engine.js';
import { PipelinedModelRunner } from '../src/pipeline/runner.js';
import type { SegmentSource } from '../src/pipeline/segment-source.js';
import type { RunnerOptions } from '../src/pipeline/runner.js';
import { SlabPool } from '../src/pipeline/slab-pool.js';
import { mobilenetConfigurations } from './lib/mobilenet-configs.js';
import { removeSegments } from '../test/helpers/segment-files.js';

/** 224x224x3 bytes: a mobilenet input, about 150 KB. */
const TENSOR_BYTES = 224 * 224 * 3;
const STAGES = 4;

function passThrough(stages: number, bytes: number): EngineSpec[] {
  const t = (i: number) => ({ name: `t${i}`, dtype: 'uint8' as const, shape: [bytes], byteSize: bytes });
  return Array.from({ length: stages }, (_, i) => ({ kind: 'passthrough' as const, device: `pt:${i}`, inputs: [t(i)], outputs: [t(i + 1)] }));
}

interface StreamResult {
  items: number;
  itemsPerSecond: number;
  latencyMsP50: number;
  latencyMsP99: number;
  runner: PipelinedModelRunner;
  peakRss: number;
}

/** One producer pushes `count` items while one consumer pops and releases: the model_pipelining loop. */
async function stream(segments: SegmentSource[], options: RunnerOptions, count: number): Promise<StreamResult> {
  const runner = await PipelinedModelRunner.create(segments, options);
  const result = await streamThrough(runner, count, false);
  await runner.close();
  return result;
}

async function streamThrough(runner: PipelinedModelRunner, count: number, sampleRss: boolean): Promise<StreamResult> {
  const inputs = runner.inputs.map((s) => new Uint8Array(s.byteSize).fill(7));
  let peakRss = process.memoryUsage.rss();
  const start = performance.now();
  const producer = (async () => {
    for (let i = 0; i < count; i++) {
      await runner.push(inputs);
      if (sampleRss && (i & 15) === 0) peakRss = Math.max(peakRss, process.memoryUsage.rss());
    }
  })();
  let items = 0;
  for (; items < count; items++) runner.release((await runner.pop())!);
  await producer;
  const seconds = (performance.now() - start) / 1000;
  const stats = runner.stats();
  return { items, itemsPerSecond: items / seconds, latencyMsP50: stats.latencyMsP50, latencyMsP99: stats.latencyMsP99, runner, peakRss };
}

async function overhead(): Promise<BenchSection> {
  const count = 20_000;
  await stream(passThrough(STAGES, TENSOR_BYTES), {}, 1000); // warm-up: thread start, JIT
  const r = await stream(passThrough(STAGES, TENSOR_BYTES), {}, count);
  const stageP50 = r.runner.stats().segments.map((s) => s.latencyMsP50 * 1000);
  return {
    title: `runner overhead: pass-through, ${TENSOR_BYTES} B tensors, ${STAGES} stages`,
    rows: [{
      items: r.items,
      'items/s': Math.round(r.itemsPerSecond),
      'us/hand-off': 1e6 / r.itemsPerSecond / (STAGES + 1),
      'stage p50 us': stageP50.reduce((a, b) => a + b, 0) / stageP50.length,
      'p50 ms': r.latencyMsP50,
      'p99 ms': r.latencyMsP99,
    }],
    notes: [
      `goal: >= 10000 items/s. us/hand-off = wall time per item / ${STAGES + 1} hand-offs (push, ${STAGES - 1} between stages, pop);`,
      'stage p50 = hand-off to an executor until its answer, incl. the 150 KB copy the pass-through engine makes.',
    ],
  };
}

async function memory(): Promise<BenchSection> {
  const count = 10_000;
  // The default allocator, made here only to read how many slabs it created.
  const pool = new SlabPool(Number.MAX_SAFE_INTEGER);
  const runner = await PipelinedModelRunner.create(passThrough(STAGES, TENSOR_BYTES), { allocator: pool });
  await streamThrough(runner, 200, false); // threads started and warm before the baseline
  globalThis.gc?.();
  const before = process.memoryUsage.rss();
  const bound = runner.inFlightLimit * runner.itemBytes;
  const rows: Record<string, string | number>[] = [];
  // A second burst on the same runner: a peak that does not rise with the items pushed is bounded.
  for (const burst of [1, 2]) {
    const r = await streamThrough(runner, count, true);
    rows.push({
      burst,
      items: r.items,
      'in-flight limit': runner.inFlightLimit,
      'item bytes': runner.itemBytes,
      'slabs created': pool.created,
      'tensor bound MB': bound / 2 ** 20,
      'RSS before MB': before / 2 ** 20,
      'RSS peak MB': r.peakRss / 2 ** 20,
      'growth MB': (r.peakRss - before) / 2 ** 20,
    });
  }
  await runner.close();
  return {
    title: `memory: ${count} pushes as fast as possible, default limits, twice`,
    rows,
    notes: [
      'tensor bound = in-flight limit x item slab bytes; baseline taken with the executors running and warm.',
      'growth beyond the tensor bound is V8 young-generation garbage (small per-item objects), not tensor memory;',
      'it does not grow with the number of items.',
    ],
  };
}

const bench: BenchModule = {
  name: 'pipeline',
  async run() {
    const sections: BenchSection[] = [];
    // Each section on its own, so one that cannot run (no test data) does not hide the others.
    for (const [title, section] of [['overhead', overhead], ['memory', memory], ['mobilenet', mobilenet]] as const) {
      try {
        sections.push(await section());
      } catch (err) {
        sections.push({ title, rows: [], notes: [`FAILED: ${err instanceof Error ? err.message : String(err)}`] });
      }
    }
    return sections;
  },
};
export default bench;

async function mobilenet(): Promise<BenchSection> {
  const count = 200;
  const rows: Record<string, string | number>[] = [];
  const notes: string[] = [];
  let single = 0;
  const configs = await mobilenetConfigurations(notes);
  for (const config of configs) {
    await stream(config.segments, config.options, 10); // warm-up
    const r = await stream(config.segments, config.options, count);
    const slowest = Math.max(...r.runner.stats().segments.map((s) => s.busyMsMean));
    const replicas = config.options.replicas?.[0] ?? 1;
    if (config.label === 'whole, 1 executor') single = r.itemsPerSecond;
    rows.push({
      configuration: config.label,
      items: r.items,
      'items/s': r.itemsPerSecond,
      'x single': single > 0 ? r.itemsPerSecond / single : '',
      'p50 ms': r.latencyMsP50,
      'p99 ms': r.latencyMsP99,
      'slowest segment ms': slowest,
      // 1.0 = as fast as the slowest segment allows: the runner adds nothing, the split decides.
      'of bound': (r.itemsPerSecond * slowest) / 1000 / replicas,
    });
  }
  for (const config of configs) if (config.written) removeSegments(config.written);
  notes.push('goal on 2 cores: 2 segments >= 1.7x the single executor (two whole-model workers measured 1.85x).');
  return { title: `mobilenet_v2_1.0_224_quant on CPU executors, ${count} items each`, rows, notes };
}
