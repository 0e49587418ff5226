/**
 * Pipeline benchmarks: runner overhead with pass-through stages, memory under a burst of pushes and
 * under careless use, and mobilenet_v2 whole vs replicated vs segmented by each strategy on CPU executors.
 */
import type { BenchModule, BenchOptions } from './lib/bench.js';
import type { ReportSection } from '../src/report/report-file.js';
import { PipelinedModelRunner } from '../src/pipeline/runner.js';
import type { SegmentStats } from '../src/pipeline/stats.js';
import { SlabPool } from '../src/pipeline/slabs.js';
import { nativeTrim } from '../src/daemon/lifecycle/memory-trim.js';
import { mobilenetConfigurations } from './lib/mobilenet-configs.js';
import { percentile, stream, streamThrough } from './lib/stream.js';
import { workerChain } from './lib/worker-chain.js';
import { passThrough } from './lib/pass-through.js';
import { removeSegments } from '../test/helpers/segment-files.js';

/** 224x224x3 bytes: a mobilenet input, about 150 KB. */
const TENSOR_BYTES = 224 * 224 * 3;
const STAGES = 4;


/** min, median and max of `values`. */
function spread(values: readonly number[]): { min: number; median: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { min: sorted[0]!, median: sorted[Math.floor(sorted.length / 2)]!, max: sorted.at(-1)! };
}

/** A segment's busy, idle and blocked shares of its executors' time, as `95/3/2`. */
function timeShares(s: SegmentStats): string {
  const total = s.busyMsTotal + s.idleMsTotal + s.blockedMsTotal || 1;
  return [s.busyMsTotal, s.idleMsTotal, s.blockedMsTotal].map((ms) => Math.round((100 * ms) / total)).join('/');
}

/**
 * The runner's pass-through pipeline against a bare chain of as many worker_threads doing the same
 * copies with no runner logic (lib/worker-chain.ts), in rounds that take turns, so that both meet the
 * same machine: the ratio says how much of Node's own messaging the runner keeps.
 */
async function overhead({ quick }: BenchOptions): Promise<ReportSection> {
  const count = quick ? 2000 : 20_000;
  // As many warm-up items again: V8 keeps optimizing the runner's code for about 2 s (its compiler
  // threads took 17% of a core then, none later); steady state is what a long-running pipeline sees.
  const warmup = quick ? 1000 : 20_000;
  const rounds = quick ? 1 : 5;
  const runnerRates: number[] = [];
  const chainRates: number[] = [];
  let last: Awaited<ReturnType<typeof stream>> | undefined;
  for (let round = 0; round < rounds; round++) {
    last = await stream(passThrough(STAGES, TENSOR_BYTES), {}, count, warmup);
    runnerRates.push(last.itemsPerSecond);
    chainRates.push((await workerChain(STAGES, TENSOR_BYTES, count, last.runner.inFlightLimit, warmup)).itemsPerSecond);
  }
  const ratios = runnerRates.map((r, i) => r / chainRates[i]!);
  const stageP50 = last!.runner.stats().segments.map((s) => s.latencyMsP50 * 1000);
  const row = (config: string, rates: readonly number[]) => {
    const { min, median, max } = spread(rates);
    return { configuration: config, items: count, 'items/s median': Math.round(median), 'min': Math.round(min), 'max': Math.round(max), 'us/hand-off': 1e6 / median / (STAGES + 1) };
  };
  const r = spread(ratios);
  return {
    title: `runner overhead: pass-through, ${TENSOR_BYTES} B tensors, ${STAGES} stages, against a bare worker chain`,
    rows: [
      { ...row('runner', runnerRates), 'stage p50 us': stageP50.reduce((a, b) => a + b, 0) / stageP50.length, 'p50 ms': last!.latencyMsP50, 'p99 ms': last!.latencyMsP99 },
      row(`bare chain of ${STAGES} workers`, chainRates),
    ],
    notes: [
      `runner / bare chain: median ${r.median.toFixed(2)} (rounds ${r.min.toFixed(2)}..${r.max.toFixed(2)}); ${rounds} rounds taking turns, ${count} items each after ${warmup} warm-up items${quick ? '' : ' (steady state: V8 done optimizing)'}. Goal (issue 18): >= 0.8.`,
      'bare chain: worker_threads passing slot numbers over MessageChannels, slots in shared memory, one copy per stage, the main thread writing inputs and taking slots back; as many slots in flight as the runner holds.',
      `us/hand-off = wall time per item / ${STAGES + 1} hand-offs (push, ${STAGES - 1} between stages, pop); stage p50 (last runner round) = hand-off to an executor until its answer, incl. its copy.`,
    ],
    charts: [
      {
        kind: 'bars',
        title: `Pass-through, ${STAGES} stages of ${Math.round(TENSOR_BYTES / 1000)} KB: runner vs bare worker chain, per round`,
        yLabel: 'items/s',
        categories: runnerRates.map((_, i) => `round ${i + 1}`),
        series: [
          { label: 'runner', values: runnerRates },
          { label: 'bare worker chain', values: chainRates },
        ],
      },
    ],
  };
}

async function memory({ quick }: BenchOptions): Promise<ReportSection> {
  const count = quick ? 1000 : 10_000;
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

/**
 * Collects garbage (npm run bench exposes gc) and hands freed native memory back to the system
 * (malloc_trim, as the daemon does), so RSS shows what is still live, not what glibc kept.
 */
function settle(): void {
  globalThis.gc?.();
  nativeTrim().trim?.();
}

/** What a careless caller makes of memory: the three uses issue 12 found unbounded. */
async function misuse({ quick }: BenchOptions): Promise<ReportSection> {
  const MiB = 2 ** 20;
  const rssMiB = () => process.memoryUsage.rss() / MiB;
  const rows: Record<string, string | number>[] = [];
  const item = (bytes: number) => new Uint8Array(bytes).fill(7);

  // Outputs popped and never released.
  {
    const count = quick ? 300 : 3000;
    const runner = await PipelinedModelRunner.create(passThrough(3, MiB));
    settle();
    const before = rssMiB();
    let peak = before;
    const producer = (async () => {
      for (let i = 0; i < count; i++) await runner.push([item(MiB)]);
      await runner.close();
    })();
    for await (const _ of runner) peak = Math.max(peak, rssMiB());
    await producer;
    settle();
    rows.push({ use: `${count} items of 3 x 1 MiB stages, popped, never released`, 'RSS before MB': before, 'RSS peak MB': peak, 'RSS after MB': rssMiB(), 'tensor bound MB': ((runner.inFlightLimit + 4) * runner.itemBytes) / MiB });
  }
  // One pool for two runners whose items differ by 8 KiB.
  {
    const count = quick ? 150 : 1500;
    const pool = new SlabPool(256 * MiB);
    const sizes = [2 * MiB, 2 * MiB + 8192];
    const runners = await Promise.all(sizes.map((bytes) => PipelinedModelRunner.create(passThrough(1, bytes), { allocator: pool })));
    settle();
    const before = rssMiB();
    let peak = before;
    for (let i = 0; i < count; i++) {
      for (const [r, runner] of runners.entries()) {
        await runner.push([item(sizes[r]!)]);
        runner.release((await runner.pop())!);
      }
      peak = Math.max(peak, rssMiB());
    }
    await Promise.all(runners.map((runner) => runner.close()));
    settle();
    rows.push({ use: `one SlabPool, 2 runners of 2 MiB and 2 MiB + 8 KiB items, ${count} each`, 'RSS before MB': before, 'RSS peak MB': peak, 'RSS after MB': rssMiB(), 'slabs created': pool.created });
  }
  // Every item fails, nobody pops: how many pushes get in.
  {
    const seconds = quick ? 1 : 5;
    const runner = await PipelinedModelRunner.create(passThrough(2, 1024).map((spec, i) => (i === 0 ? { ...spec, faults: { failOn: Array.from({ length: 1e6 }, (_, n) => n) } } : spec)));
    settle();
    const heapBefore = process.memoryUsage().heapUsed / MiB;
    let accepted = 0;
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end) {
      if (runner.tryPush([item(1024)])) accepted++;
      else await new Promise((resolve) => setTimeout(resolve, 1));
    }
    rows.push({ use: `every item fails, no consumer, ${seconds} s of pushes`, 'items accepted': accepted, 'in-flight limit': runner.inFlightLimit, 'heap growth MB': process.memoryUsage().heapUsed / MiB - heapBefore });
    await runner.close().catch(() => {});
  }
  return {
    title: 'memory under misuse (issue 12): outputs never released, a pool shared across item sizes, failures never popped',
    rows,
    notes: [
      'before the fixes: 3000 unreleased items took RSS from 107 to 6,130 MB; the shared pool from 115 to 6,125 MB (3,000 slabs created);',
      'failing items were accepted without limit (197,354 in 30 s against a limit of 15).',
      'tensor bound = (in-flight limit + held outputs) x item bytes: pops beyond 4 held views are copies the caller owns.',
    ],
  };
}

async function mobilenet({ quick }: BenchOptions): Promise<ReportSection> {
  const count = quick ? 20 : 150;
  // Rounds over all configurations, so that a slow spell on this shared machine hits every one alike;
  // each ratio is to the single executor of the same round.
  const rounds = quick ? 1 : 3;
  const notes: string[] = [];
  const configs = await mobilenetConfigurations(notes);
  const perSecond = configs.map(() => [] as number[]);
  const ratios = configs.map(() => [] as number[]);
  const latencies = configs.map(() => [] as number[]);
  const slowest = configs.map(() => [] as number[]);
  /** Per configuration, its segments' busy/idle/blocked shares in the last round: which waits on which. */
  const shares = configs.map(() => '');
  try {
    for (let round = 0; round < rounds; round++) {
      let single = 0;
      for (const [i, config] of configs.entries()) {
        const r = await stream(config.segments, config.options, count);
        if (i === 0) single = r.itemsPerSecond;
        perSecond[i]!.push(r.itemsPerSecond);
        ratios[i]!.push(r.itemsPerSecond / single);
        latencies[i]!.push(...r.latenciesMs);
        const segments = r.runner.stats().segments;
        slowest[i]!.push(Math.max(...segments.map((s) => s.busyMsMean)));
        shares[i] = segments.map(timeShares).join(' | ');
      }
    }
  } finally {
    for (const config of configs) if (config.written) removeSegments(config.written);
  }
  const median = (values: number[]) => percentile(values, 50);
  const rows = configs.map((config, i) => {
    const replicas = config.options.replicas?.[0] ?? 1;
    const itemsPerSecond = median(perSecond[i]!);
    const slowestMs = median(slowest[i]!);
    return {
      configuration: config.label,
      workers: config.workers,
      'items/s': itemsPerSecond,
      'x single': median(ratios[i]!),
      'x single min..max': `${Math.min(...ratios[i]!).toFixed(2)}..${Math.max(...ratios[i]!).toFixed(2)}`,
      'p50 ms': percentile(latencies[i]!, 50),
      'p99 ms': percentile(latencies[i]!, 99),
      'slowest segment ms': slowestMs,
      // 1.0 = as fast as the slowest segment allows: the runner adds nothing, the split decides.
      'of bound': (itemsPerSecond * slowestMs) / 1000 / replicas,
      'busy/idle/blocked %': shares[i]!,
    };
  });
  notes.push(`${rounds} round(s) of ${count} items per configuration after 10 warm-up items; items/s and x single are medians over rounds, p50/p99 over all items (push accepted to pop).`);
  notes.push('of bound = items/s x slowest segment engine time (/ replicas): 1.0 means the runner delivers all the split allows.');
  notes.push('busy/idle/blocked % = per segment (| between), the share of its executors\' time (last round, from their start) in invokes, waiting for an item, and holding a finished one while the next queue was full.');
  notes.push('goal on 2 cores: 2 segments >= 1.7x the single executor (two whole-model workers measured 1.85x).');
  /** One bar per configuration, grouped by workers; `range`, the spread over rounds behind a bar. */
  const byWorkers = (pick: (i: number) => number, range?: (i: number) => readonly [number, number]) => {
    const categories = [1, 2, 3, 4];
    const bar = (match: (c: (typeof configs)[number]) => boolean) => {
      const at = categories.map((w) => configs.findIndex((c) => c.workers === w && match(c)));
      return {
        values: at.map((i) => (i < 0 ? null : pick(i))),
        ...(range && { ranges: at.map((i) => (i < 0 ? null : range(i))) }),
      };
    };
    return {
      categories: categories.map((w) => `${w} worker${w === 1 ? '' : 's'}`),
      series: [
        ...(['params', 'cut', 'latency'] as const).map((s) => ({ label: `segments (${s})`, ...bar((c) => c.strategy === s) })),
        { label: 'whole-model replicas', ...bar((c) => c.strategy === undefined) },
      ],
    };
  };
  return {
    title: `mobilenet_v2_1.0_224_quant on CPU executors, ${count} items x ${rounds} rounds each`,
    rows,
    notes,
    charts: [
      {
        kind: 'bars',
        title: `Pipeline throughput by segments and strategy vs replicas (higher is better; median and range of ${rounds} rounds)`,
        yLabel: 'items/s',
        ...byWorkers((i) => rows[i]!['items/s'], (i) => [Math.min(...perSecond[i]!), Math.max(...perSecond[i]!)]),
        reference: { label: 'single executor', value: rows[0]!['items/s'] },
      },
      { kind: 'bars', title: 'Pipeline latency p50 under full load (lower is better)', yLabel: 'ms', ...byWorkers((i) => rows[i]!['p50 ms']) },
    ],
  };
}

const bench: BenchModule = {
  name: 'pipeline',
  async run(options) {
    const sections: ReportSection[] = [];
    // Each section on its own, so one that cannot run (no test data) does not hide the others.
    for (const [title, section] of [['overhead', overhead], ['memory', memory], ['misuse', misuse], ['mobilenet', mobilenet]] as const) {
      try {
        sections.push(await section(options));
      } catch (err) {
        sections.push({ title, rows: [], notes: [`FAILED: ${err instanceof Error ? err.message : String(err)}`] });
      }
    }
    return sections;
  },
};
export default bench;
