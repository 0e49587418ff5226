/**
 * Decoding beside accelerators: mobilenet_v2 split into 2 and 4 segments on stand-in Edge TPUs
 * (standin-accelerators.ts: the real native addon, invokes that sleep), fed by 4 concurrent sharp JPEG
 * decodes as the daemon feeds it, against the same pipeline fed constant tensors. Each invoke holds a
 * thread for its whole length, as a call into an Edge TPU does; the ratio shows whether that starves
 * the decoding (it did while invokes ran on libuv's 4-thread pool: 0.83-0.85 with 4 segments).
 */
import { removeSegments } from '../test/helpers/segment-files.js';
import type { BenchModule, BenchOptions } from './lib/bench.js';
import type { ReportSection } from '../src/report/report-file.js';
import { cameraFrames } from './lib/camera-frames.js';
import { profiledMobilenet, writeLatencySplit } from './lib/mobilenet-configs.js';
import { standInDeviceList, standInPipeline, standInSegments } from './lib/standin-accelerators.js';
import { stream, streamDecoded } from './lib/stream.js';

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;

const bench: BenchModule = {
  name: 'accelerators',
  async run({ quick }: BenchOptions): Promise<ReportSection[]> {
    const items = quick ? 60 : 400;
    const rounds = quick ? 1 : 3;
    const mobilenet = await profiledMobilenet();
    const frames = await cameraFrames();
    // The whole model's CPU time, spread evenly over the accelerators.
    const wholeMs = (await stream([mobilenet.model], {}, 50)).runner.stats().segments[0]!.busyMsMean;
    const rows: Record<string, string | number>[] = [];
    for (const n of [2, 4]) {
      const files = await writeLatencySplit(mobilenet, n);
      try {
        const pipeline = standInPipeline(files, Array<number>(n).fill(wholeMs / n));
        process.env.FAKE_EDGETPU_DEVICES = standInDeviceList(pipeline);
        const segments = standInSegments(pipeline);
        const bare: number[] = [];
        const decoded: number[] = [];
        const ratios: number[] = [];
        let decodeCpu = 0;
        for (let r = 0; r < rounds; r++) {
          const b = await stream(segments, {}, items);
          const d = await streamDecoded(segments, frames, items);
          bare.push(b.itemsPerSecond);
          decoded.push(d.itemsPerSecond);
          ratios.push(d.itemsPerSecond / b.itemsPerSecond);
          decodeCpu += d.cpuMsPerItem / rounds;
        }
        rows.push({
          'stand-in Edge TPUs': n,
          'invoke ms each': wholeMs / n,
          'bare items/s': median(bare),
          'decode+pipeline items/s': median(decoded),
          'x bare': median(ratios),
          'CPU ms/item decode+pipeline': decodeCpu,
        });
      } finally {
        removeSegments(files);
      }
    }
    return [{
      title: 'decoding beside accelerators: mobilenet_v2 on 2 and 4 stand-in Edge TPUs',
      rows,
      notes: [
        `each stand-in invoke sleeps the whole model's CPU time (${wholeMs.toFixed(1)} ms) / N, holding its thread but no core, through the real native addon; the tensors are the real segments'.`,
        `decode+pipeline = 4 concurrent sharp decodes of 640x480 JPEGs (as the daemon decodes) feeding the pipeline; bare = constant tensors; medians of ${rounds} round(s) of ${items} items, side by side.`,
        'x bare near 1.0: the invokes leave the decoding alone (each interpreter has its own invoke thread; on libuv\'s 4-thread pool, 4 segments gave 0.83-0.85).',
      ],
      charts: [
        { kind: 'bars', title: 'Stand-in Edge TPU pipeline fed by JPEG decoding vs constant tensors', yLabel: 'items/s', categories: rows.map((r) => `${r['stand-in Edge TPUs']} stand-in Edge TPUs`), series: [{ label: 'bare', values: rows.map((r) => r['bare items/s'] as number) }, { label: 'decode + pipeline', values: rows.map((r) => r['decode+pipeline items/s'] as number) }] },
      ],
    }];
  },
};

export default bench;
