/**
 * How evenly each segmentation strategy balances mobilenet_v2 on the CPU engine: per-segment latency
 * and slowest/mean (the slowest segment bounds pipeline throughput), for N = 2, 3 and 4, measured side
 * by side in one run with the same timer; and what the latency strategy's search cost.
 */
import { readModel } from '../src/model/index.js';
import { executionOrder, profileOperators, segmentModel } from '../src/model/segment/index.js';
import { engineTimer } from '../src/devices/segment-timer.js';
import { modelBytes } from '../test/helpers/model-files.js';
import type { BenchModule } from './lib/bench.js';
import type { ReportSection } from '../src/report/report-file.js';
import { strategyRequests } from './lib/strategies.js';

const MODEL = 'mobilenet_v2_1.0_224_quant';
const COUNTS = [2, 3, 4];

const bench: BenchModule = {
  name: 'segment-strategies',
  async run({ quick }): Promise<ReportSection[]> {
    const model = readModel(modelBytes(`models/${MODEL}.tflite`));
    const order = executionOrder(model);
    const searchTimer = engineTimer({ repeats: 5, warmup: 1 });
    const repeats = quick ? 5 : 25;
    const measureTimer = engineTimer({ repeats, warmup: 3 });
    const started = performance.now();
    const profile = await profileOperators(model, order, searchTimer);
    const profileS = (performance.now() - started) / 1000;
    const rows: Record<string, string | number>[] = [];
    const notes: string[] = [`operator profile (done once, shared by every N): ${order.length} operators + whole model (${profile.wholeMs.toFixed(2)} ms) in ${profileS.toFixed(1)} s`];
    const slowest: Record<string, (number | null)[]> = { params: [], cut: [], latency: [] };
    const balance: Record<string, (number | null)[]> = { params: [], cut: [], latency: [] };
    for (const count of COUNTS) {
      for (const request of strategyRequests(model, count, searchTimer, profile)) {
        const t0 = performance.now();
        const { segments, latency } = await segmentModel(model, request);
        const searchS = (performance.now() - t0) / 1000;
        const ms: number[] = [];
        for (const segment of segments) ms.push(await measureTimer(segment));
        const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
        slowest[request.strategy]!.push(Math.max(...ms));
        balance[request.strategy]!.push(Math.max(...ms) / mean);
        rows.push({
          N: count,
          strategy: request.strategy,
          'ops per segment': segments.map((s) => s.operators.length).join('/'),
          'segment ms': ms.map((x) => x.toFixed(2)).join(' / '),
          'slowest ms': Math.max(...ms),
          'slowest/mean': Math.max(...ms) / mean,
          'sum ms': ms.reduce((a, b) => a + b, 0),
          'search s': searchS,
          // The profile is paid once per model; a first `segment --strategy latency` run pays both.
          'search + profile s': request.strategy === 'latency' ? searchS + profileS : '',
          candidates: latency?.candidatesMeasured ?? '',
          stopped: latency?.stoppedBecause ?? '',
        });
      }
    }
    notes.push(`segment ms: median of ${repeats} invokes per segment after 3 warm-up runs, CPU engine (LiteRT.js WASM), one segment at a time`);
    notes.push('candidates: distinct candidate segments the latency search measured after the profile; stopped: why it ended (gap to the whole/N lower bound under 5%, local optimum, budget)');
    const categories = COUNTS.map((n) => `${n} segments`);
    const series = (of: Record<string, (number | null)[]>) => Object.entries(of).map(([label, values]) => ({ label, values }));
    return [{
      title: `${MODEL}: per-segment latency by strategy`,
      rows,
      notes,
      charts: [
        { kind: 'bars', title: 'Partitioner: slowest segment (bounds pipeline throughput), lower is better', yLabel: 'ms', categories, series: series(slowest), reference: { label: `whole model ${profile.wholeMs.toFixed(1)} ms`, value: profile.wholeMs } },
        { kind: 'bars', title: 'Partitioner: balance, slowest / mean segment (1 = perfect)', yLabel: 'slowest / mean', categories, series: series(balance), reference: { label: 'perfect balance', value: 1 } },
      ],
    }];
  },
};

export default bench;
