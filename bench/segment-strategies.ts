/**
 * How evenly each segmentation strategy balances mobilenet_v2 on the CPU engine: per-segment latency
 * and slowest/mean (the slowest segment bounds pipeline throughput), for N = 2 and 3, measured side by
 * side in one run with the same timer.
 */
import { readModel } from '../src/model/index.js';
import {
  cutCandidates, executionOrder, profileOperators, segmentModel, type SegmentRequest,
} from '../src/model/segment/index.js';
import { engineTimer } from '../src/model/segment/engine-timer.js';
import { modelBytes } from '../test/helpers/model-files.js';
import type { BenchModule, BenchSection } from './lib/bench.js';

const MODEL = 'mobilenet_v2_1.0_224_quant';

const bench: BenchModule = {
  name: 'segment-strategies',
  async run(): Promise<BenchSection[]> {
    const model = readModel(modelBytes(`models/${MODEL}.tflite`));
    const order = executionOrder(model);
    const searchTimer = engineTimer({ repeats: 5, warmup: 1 });
    const measureTimer = engineTimer({ repeats: 25, warmup: 3 });
    const started = performance.now();
    const profile = await profileOperators(model, order, searchTimer);
    const profileMs = performance.now() - started;
    const candidates = cutCandidates(model);
    const rows: Record<string, string | number>[] = [];
    const notes: string[] = [`operator profile: ${order.length} operators + whole model (${profile.wholeMs.toFixed(2)} ms) in ${(profileMs / 1000).toFixed(1)} s`];
    for (const count of [2, 3]) {
      const requests: SegmentRequest[] = [
        { strategy: 'params', count },
        // Cuts at evenly spaced single-tensor cut points: what a user picking "the middle" gets.
        { strategy: 'cut', cuts: Array.from({ length: count - 1 }, (_, k) => [candidates[Math.floor(((k + 1) * candidates.length) / count)]!]) },
        { strategy: 'latency', count, timer: searchTimer, profile },
      ];
      for (const request of requests) {
        const t0 = performance.now();
        const { segments, latency } = await segmentModel(model, request);
        const searchS = (performance.now() - t0) / 1000;
        const ms: number[] = [];
        for (const segment of segments) ms.push(await measureTimer(segment));
        const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
        rows.push({
          N: count,
          strategy: request.strategy,
          'ops per segment': segments.map((s) => s.operators.length).join('/'),
          'segment ms': ms.map((x) => x.toFixed(2)).join(' / '),
          'slowest ms': Math.max(...ms),
          'slowest/mean': Math.max(...ms) / mean,
          'sum ms': ms.reduce((a, b) => a + b, 0),
          'search s': searchS,
          candidates: latency?.candidatesMeasured ?? '',
        });
      }
    }
    notes.push('segment ms: median of 25 invokes per segment after 3 warm-up runs, CPU engine (LiteRT.js WASM), one segment at a time');
    return [{ title: `${MODEL}: per-segment latency by strategy`, rows, notes }];
  },
};

export default bench;
