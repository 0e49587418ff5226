/**
 * The two CPU engines side by side on the test data's models, and the Edge TPU path on the real
 * TensorFlow Lite library with the stand-in libedgetpu:
 * - ms per inference: LiteRT.js (WebAssembly, XNNPACK) against the native TFLite 2.9.0 C library
 *   through the addon, as it is and with XNNPACK's delegate asked to take quantized graphs (QS8|QU8),
 *   each with 1 and 2 threads;
 * - SSD mobilenet's Edge TPU segment chains of 2 and 4 through PipelinedModelRunner, each segment on a
 *   stand-in Edge TPU whose invoke computes instantly or sleeps for a set time, the post-processing
 *   (TFLite_Detection_PostProcess) in the last segment running for real on the CPU.
 */
import { readFileSync } from 'node:fs';
import { loadCpuEngine } from '../src/devices/cpu-engine.js';
import type { Engine } from '../src/devices/engine.js';
import type { EdgeTpuDeviceRef } from '../src/devices/edgetpu-engine.js';
import { loadLiteRtRuntime } from '../src/devices/litert/runtime.js';
import { loadTfliteCpuEngine, XNNPACK_QUANTIZED } from '../src/devices/tflite-cpu-engine.js';
import { testDataPath } from '../src/testdata.js';
import { buildStandInEdgeTpu } from '../test/helpers/standin-edgetpu.js';
import type { BenchModule, BenchOptions } from './lib/bench.js';
import type { ReportSection } from '../src/report/report-file.js';
import { stream } from './lib/stream.js';

const MODELS = [
  'mobilenet_v1_0.25_128_quant.tflite',
  'mobilenet_v1_0.5_160_quant.tflite',
  'mobilenet_v2_1.0_224_quant.tflite',
  'deeplabv3_mnv2_dm05_pascal_quant.tflite',
  'keras_lstm_mnist_ptq.tflite',
  'split_concat.tflite',
];

type Opener = (model: Uint8Array, threads: number) => Promise<Engine>;
const ENGINES: readonly { label: string; open: Opener }[] = [
  { label: 'LiteRT.js', open: (model, numThreads) => loadCpuEngine(model, { device: 'litert:0', numThreads }) },
  { label: 'TFLite C', open: (model, numThreads) => loadTfliteCpuEngine(model, { numThreads }) },
  { label: 'TFLite C + XNNPACK QS8|QU8', open: (model, numThreads) => loadTfliteCpuEngine(model, { numThreads, xnnpackFlags: XNNPACK_QUANTIZED }) },
];

/** Mean ms per invoke over at least `runs` invokes and `seconds`, after 3 to warm up. */
async function msPerInference(engine: Engine, runs: number, seconds: number): Promise<number> {
  const inputs = Object.fromEntries(engine.inputs.map((s) => [s.name, new Uint8Array(s.byteSize).fill(7)]));
  for (let i = 0; i < 3; i++) await engine.invoke(inputs);
  const start = performance.now();
  let n = 0;
  while (n < runs || performance.now() - start < seconds * 1000) {
    await engine.invoke(inputs);
    n++;
  }
  return (performance.now() - start) / n;
}

async function cpuEngines({ quick }: BenchOptions): Promise<ReportSection> {
  await loadLiteRtRuntime();
  const rows: Record<string, string | number>[] = [];
  const refused: string[] = [];
  for (const file of MODELS) {
    const model = new Uint8Array(readFileSync(testDataPath(`models/${file}`)));
    const row: Record<string, string | number> = { model: file.replace(/\.tflite$/, '') };
    for (const threads of [1, 2]) {
      for (const { label, open } of ENGINES) {
        const column = `${label}, ${threads} thread${threads > 1 ? 's' : ''} (ms)`;
        let engine: Engine;
        try {
          engine = await open(model, threads);
        } catch (err) {
          row[column] = 'refused';
          if (threads === 1) refused.push(`${label} refuses ${file}: ${(err as Error).message.split('\n')[0]!.slice(0, 160)}`);
          continue;
        }
        try {
          row[column] = await msPerInference(engine, quick ? 3 : 20, quick ? 0.2 : 2);
        } finally {
          await engine.dispose();
        }
      }
    }
    const fastest = (threads: number) => {
      const times = ENGINES.map(({ label }) => [label, row[`${label}, ${threads} thread${threads > 1 ? 's' : ''} (ms)`]] as const).filter((e): e is readonly [string, number] => typeof e[1] === 'number');
      return times.sort((a, b) => a[1] - b[1])[0]?.[0] ?? 'none';
    };
    row['fastest, 1 thread'] = fastest(1);
    rows.push(row);
  }
  const ms = (label: string) => rows.map((r) => (typeof r[`${label}, 1 thread (ms)`] === 'number' ? (r[`${label}, 1 thread (ms)`] as number) : null));
  return {
    title: 'CPU engines side by side: LiteRT.js and the native TensorFlow Lite 2.9.0 C library (ms per inference)',
    rows,
    notes: [
      'each model on each engine in this one run: mean over at least 20 invokes and 2 s after 3 to warm up; inputs constant; 2 cores here, so 2 threads is all there is.',
      'TFLite C = the library fetched by npm install, no delegate beyond what TFLite applies itself; + XNNPACK QS8|QU8 = its XNNPACK delegate created with the quantized flags.',
      '`cpu:N` devices use LiteRT.js and fall back to the native library for what LiteRT.js refuses; `tflite:N` and `litert:N` name one engine.',
      ...refused,
    ],
    charts: [
      {
        kind: 'bars',
        title: 'ms per inference, 1 thread (lower is better)',
        yLabel: 'ms',
        categories: rows.map((r) => String(r.model)),
        series: ENGINES.map(({ label }) => ({ label, values: ms(label) })),
      },
    ],
  };
}

const SSD = 'ssd_mobilenet_v1_coco_quant_postprocess';

async function standInChains({ quick }: BenchOptions): Promise<ReportSection> {
  const libs = buildStandInEdgeTpu();
  const libraries = { edgetpu: [libs.edgetpu], tflite: [libs.tflite] };
  const devices: EdgeTpuDeviceRef[] = [1, 2, 3, 4].map((port) => ({ id: `usb:/sys/bus/usb/devices/2-${port}`, type: 'usb', selector: `/sys/bus/usb/devices/2-${port}` }));
  process.env.FAKE_EDGETPU_DEVICES = devices.map((d) => `usb:${d.selector}`).join(',');
  const rows: Record<string, string | number>[] = [];
  const items = quick ? 30 : 300;
  for (const n of [2, 4]) {
    const files = Array.from({ length: n }, (_, i) => testDataPath(`segments/${SSD}_segment_${i}_of_${n}_edgetpu.tflite`));
    for (const delayMs of [0, 5]) {
      const segments = files.map((file, i) => [
        { kind: 'edgetpu' as const, model: new Uint8Array(readFileSync(file)), device: devices[i]!, libraries, delegateOptions: { 'StandIn.DelayUs': String(delayMs * 1000) } },
      ]);
      const result = await stream(segments, {}, items);
      const stats = result.runner.stats();
      rows.push({
        segments: n,
        'stand-in invoke ms': delayMs,
        'items/s': result.itemsPerSecond,
        'latency p50 ms': result.latencyMsP50,
        'latency p99 ms': result.latencyMsP99,
        'busiest segment ms': Math.max(...stats.segments.map((s) => s.busyMsMean)),
        'CPU ms/item': result.cpuMsPerItem,
      });
    }
  }
  delete process.env.FAKE_EDGETPU_DEVICES;
  return {
    title: "SSD mobilenet's Edge TPU segments on the real TFLite library with the stand-in libedgetpu",
    rows,
    notes: [
      `${items} items per row; each segment on its own stand-in Edge TPU through the native addon; the stand-in's kernel computes a function of its input instead of the Edge TPU graph, sleeping the given time per invoke.`,
      "the last segment's TFLite_Detection_PostProcess runs for real on the CPU; with 0 ms invokes the chain is bound by it and by copying tensors between segments.",
      'these are not Edge TPU numbers: no Edge TPU has run this code.',
    ],
    charts: [
      {
        kind: 'bars',
        title: 'SSD chains on stand-in Edge TPUs (items/s)',
        yLabel: 'items/s',
        categories: rows.filter((r) => r['stand-in invoke ms'] === 0).map((r) => `${r.segments} segments`),
        series: [0, 5].map((d) => ({ label: `${d} ms per invoke`, values: rows.filter((r) => r['stand-in invoke ms'] === d).map((r) => r['items/s'] as number) })),
      },
    ],
  };
}

const bench: BenchModule = {
  name: 'engines',
  async run(options: BenchOptions): Promise<ReportSection[]> {
    return [await cpuEngines(options), await standInChains(options)];
  },
};

export default bench;
