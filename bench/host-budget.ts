/**
 * The host's budget per frame (issue 18): the CPU time each step of the daemon's frame path costs,
 * each step measured alone in this process with the project's own code, so that a reader sees where
 * a frame's host time goes before any inference: MQTT receive (frames from the simulated cameras, a
 * child process, through a real mosquitto: every frame pays it, dropped ones too), parsing (only frames
 * that leave their camera's slot for the pipeline pay it; raw JPEG or JSON with base64), JPEG decode,
 * resize and conversion (sharp), the runner's hand-offs (pass-through stages: accelerators that take no time), top-k and the result
 * published. CPU time is the whole process's (every thread: libvips', the executors'), per frame.
 */
import { fork } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { topK } from '../src/classify/top-k.js';
import { parseFrame } from '../src/daemon/frames/frame-intake.js';
import { PipelinedModelRunner } from '../src/pipeline/runner.js';
import type { ReportSection } from '../src/report/report-file.js';
import type { TensorSpec } from '../src/tensors/tensor.js';
import { Mosquitto } from '../test/helpers/mosquitto.js';
import type { BenchModule, BenchOptions } from './lib/bench.js';
import type { FleetReport, FleetSchedule } from './lib/camera-fleet.js';
import { cameraFrames } from './lib/camera-frames.js';
import { decodeFrames, MOBILENET_INPUT } from './lib/decode-frames.js';
import { message } from './lib/child-message.js';
import { passThrough } from './lib/pass-through.js';

const FLEET = fileURLToPath(new URL('./lib/camera-fleet.js', import.meta.url));
const OUTPUT: TensorSpec = { name: 'scores', dtype: 'uint8', shape: [1, 1001], byteSize: 1001 };

interface Step {
  readonly step: string;
  readonly frames: number;
  readonly cpuMs: number;
  readonly wallMs: number;
}

/** Runs `work` and returns the process's CPU ms and the wall ms it took. */
async function timed(work: () => Promise<number>): Promise<{ frames: number; cpuMs: number; wallMs: number }> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const frames = await work();
  const used = process.cpuUsage(cpu);
  return { frames, cpuMs: (used.user + used.system) / 1000, wallMs: performance.now() - start };
}

/** Frames from one simulated camera (a child process) received, as the daemon's MQTT client receives them, for `seconds`. */
async function receive(broker: Mosquitto, seconds: number): Promise<Step> {
  const prefix = `budget${process.pid}`;
  const client = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: `${prefix}-daemon` });
  await client.subscribeAsync(`${prefix}/frames/#`, { qos: 0 });
  const fleet = fork(FLEET, [broker.url, prefix, '1', '0'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const reported = message(fleet, (m): m is FleetReport => typeof m === 'object' && m !== null && 'inWindow' in m);
    reported.catch(() => undefined); // awaited below
    await message(fleet, (m): m is { ready: true } => typeof m === 'object' && m !== null && 'ready' in m);
    const start = Date.now() + 200;
    const windowStart = start + 1000;
    const end = windowStart + seconds * 1000;
    let received = 0;
    let counting = false;
    client.on('message', () => {
      if (counting) received++;
    });
    fleet.send({ start, windowStart, end } satisfies FleetSchedule);
    await new Promise((r) => setTimeout(r, windowStart - Date.now()));
    counting = true;
    const r = await timed(async () => {
      await new Promise((resolve) => setTimeout(resolve, end - Date.now()));
      return received;
    });
    counting = false;
    await reported;
    return { step: 'MQTT receive (640x480 JPEG, QoS 1 from the camera)', ...r };
  } finally {
    if (fleet.exitCode === null) fleet.kill();
    await client.endAsync();
  }
}

/** `count` frames parsed as the daemon parses one leaving its camera's slot: the raw JPEG, or JSON with it in base64. */
async function parse(frames: readonly Buffer[], count: number, json: boolean): Promise<Step> {
  const messages = frames.map((f) => ({ topic: 'cam0', properties: {}, payload: json ? Buffer.from(JSON.stringify({ image: f.toString('base64') })) : f }));
  const parseAll = async (n: number) => {
    for (let i = 0; i < n; i++) parseFrame('cam0', messages[i % messages.length]!, { maxPayloadBytes: 8 << 20 });
    return n;
  };
  await parseAll(200);
  const r = await timed(() => parseAll(count));
  return { step: `parse a frame taken from its slot: ${json ? 'JSON, the JPEG in base64' : 'raw JPEG'}`, ...r };
}

/** `count` camera frames decoded, resized to 224x224 and converted, `parallel` at a time. */
async function decode(frames: readonly Buffer[], count: number, parallel: number): Promise<Step> {
  const { seconds, cpuMs } = await decodeFrames(frames, count, parallel);
  return { step: `decode, resize to 224x224, convert (sharp, ${parallel} at a time)`, frames: count, cpuMs, wallMs: seconds * 1000 };
}

/** `count` items through a runner of 2 pass-through stages with runner.run, kept full. */
async function handOffs(count: number): Promise<Step> {
  const runner = await PipelinedModelRunner.create(passThrough(2, MOBILENET_INPUT.byteSize));
  try {
    const input = new Uint8Array(MOBILENET_INPUT.byteSize).fill(7);
    const through = async (n: number) => {
      let started = 0;
      const lane = async () => {
        while (started < n) {
          started++;
          runner.release(await runner.run([input]));
        }
      };
      await Promise.all(Array.from({ length: runner.inFlightLimit }, lane));
      return n;
    };
    await through(500);
    const r = await timed(() => through(count));
    return { step: 'runner, 2 pass-through stages (accelerators that take no time; a 150 KB copy each)', ...r };
  } finally {
    await runner.close();
  }
}

/** Top-5 of 1001 scores and the daemon's result message published (QoS 0), `count` times. */
async function results(broker: Mosquitto, count: number): Promise<Step> {
  const client = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: `budget${process.pid}-results` });
  try {
    const scores = new Uint8Array(OUTPUT.byteSize).map((_, i) => (i * 37) % 251);
    const publish = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const top = topK(scores, OUTPUT, 5);
        const payload = JSON.stringify({ camera: 'cam0', sequence: i, timestamp: new Date().toISOString(), top, model: { name: 'mobilenet', hash: 'h' }, segments: 2, latencyMs: { queue: 1, decode: 5, inference: 17, total: 23 } });
        client.publish(`budget${process.pid}/result/cam0`, payload, { qos: 0, properties: { contentType: 'application/json', userProperties: { sequence: String(i) } } });
        // Let the socket write, as the daemon's event loop would between frames.
        if (i % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
      }
      return n;
    };
    await publish(500);
    const r = await timed(() => publish(count));
    return { step: 'top-5 of 1001 scores, result JSON, MQTT publish (QoS 0)', ...r };
  } finally {
    await client.endAsync();
  }
}

async function budget({ quick }: BenchOptions): Promise<ReportSection> {
  const frames = await cameraFrames();
  const broker = await Mosquitto.start();
  try {
    const received = await receive(broker, quick ? 2 : 10);
    const parsedRaw = await parse(frames, quick ? 500 : 5000, false);
    const parsedJson = await parse(frames, quick ? 200 : 2000, true);
    const decodedOne = await decode(frames, quick ? 100 : 600, 1);
    const decodedAll = await decode(frames, quick ? 100 : 600, os.availableParallelism());
    const handedOff = await handOffs(quick ? 1000 : 10_000);
    const answered = await results(broker, quick ? 1000 : 10_000);
    const steps = [received, parsedRaw, parsedJson, decodedOne, decodedAll, handedOff, answered];
    const perFrame = (s: Step) => s.cpuMs / s.frames;
    // A raw JPEG frame with one decode: the sequential one's cost is the budget's (the parallel line
    // shows what sharing changes, the JSON line what that format adds).
    const counted = [received, parsedRaw, decodedOne, handedOff, answered];
    const total = counted.reduce((n, s) => n + perFrame(s), 0);
    const cores = os.availableParallelism();
    return {
      title: 'Host budget per frame: CPU time of each step of the frame path, each measured alone',
      rows: steps.map((s) => ({
        step: s.step,
        frames: s.frames,
        'CPU ms/frame': perFrame(s),
        'wall ms/frame': s.wallMs / s.frames,
        'share of the budget': counted.includes(s) ? perFrame(s) / total : '',
      })),
      notes: [
        `budget: ${total.toFixed(2)} ms of CPU per frame (receive + raw parse + sequential decode + runner + result); ${cores} cores could host at most ${Math.round((cores * 1000) / total)} frames/s with accelerators that take no time, before the broker and the cameras take their share.`,
        `a frame dropped in its slot (a newer one displaced it) costs the receive only: it is never parsed, which saves ${perFrame(parsedJson).toFixed(3)} ms for a JSON frame.`,
        'CPU time is the whole process (all threads) over the step alone; the camera and mosquitto are other processes, not counted. The runner line includes the pass-through engines\' 150 KB copies in their workers.',
      ],
      charts: [
        {
          kind: 'bars',
          title: 'Host CPU per frame, by step',
          yLabel: 'CPU ms per frame',
          categories: ['receive', 'parse raw', 'parse JSON', 'decode (1)', `decode (${cores})`, 'runner', 'top-k+publish'],
          series: [{ label: 'CPU ms/frame', values: steps.map(perFrame) }],
        },
      ],
    };
  } finally {
    await broker.close();
  }
}

const hostBudget: BenchModule = {
  name: 'host-budget',
  async run(options) {
    return [await budget(options)];
  },
};
export default hostBudget;
