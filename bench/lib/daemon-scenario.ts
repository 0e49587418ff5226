/**
 * One load against the daemon: the real `coral-pipe daemon` as a child process (CPU inference, or
 * stand-in accelerators) behind a broker, simulated cameras in a child process publishing JPEG frames
 * flooding or paced; what it answers, how fast, with what latency, and the daemon's RSS and CPU over
 * time. `npm run bench -- e2e` and `-- flood` run their loads through it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { topicsFor } from '../../src/daemon/mqtt/topics.js';
import type { SegmentSource } from '../../src/pipeline/segment-source.js';
import { testDataPath } from '../../src/testdata.js';
import type { Mosquitto } from '../../test/helpers/mosquitto.js';
import { Observer } from '../../test/helpers/mqtt-observer.js';
import type { FleetReport, FleetSchedule } from './camera-fleet.js';
import { message } from './child-message.js';
import { DaemonChild } from './daemon-child.js';
import { childPids, cpuSeconds, rssBytes } from './proc-stats.js';
import { percentile } from './stream.js';
import { standInDeviceList, standInPipeline, standInSegments, type StandInPipeline } from './standin-accelerators.js';

export const loadLabel = (l: { cameras: number; fps: number }) => `${l.cameras} cam${l.cameras === 1 ? '' : 's'}${l.fps > 0 ? ` x ${l.fps} fps` : ', flood'}`;
const MB = 2 ** 20;

export interface Scenario {
  readonly cameras: number;
  readonly seconds: number;
  /** Excluded from the figures: daemon JIT, first frames, broker queues filling. */
  readonly warmupSeconds: number;
  /** CPU niceness of the simulated cameras: on an appliance they are other machines. */
  readonly camerasNice: number;
  /** Frames per second per camera; 0 = as fast as the broker takes them. */
  readonly fps: number;
  /** The cameras' JPEG size; 640x480 by default. */
  readonly frameSize?: { readonly width: number; readonly height: number };
}

export interface Sample {
  /** Seconds since the cameras started. */
  readonly t: number;
  readonly value: number;
}

export interface ScenarioResult {
  published: number;
  answered: number;
  errors: number;
  resultsPerSecond: number;
  publishedPerSecond: number;
  latencies: number[];
  dropped: number;
  latencyOverTime: Sample[];
  rss: Sample[];
  /** CPU cores busy on average during the measured window. */
  cpu: { daemon: number; broker: number; cameras: number };
  /** Means over answered frames of what the daemon reports per result. */
  daemonMs: { queue: number; decode: number; inference: number };
}

interface Result {
  camera: string;
  timestamp: string;
  latencyMs: { queue: number; decode: number; inference: number; total: number };
}

function configYaml(url: string, node: string, prefix: string, cameras: number, segmentFiles: string[]): string {
  return [
    `node: ${node}`,
    `mqtt: {url: ${JSON.stringify(url)}, topicPrefix: ${prefix}, clientId: ${node}}`,
    `model: {segmentFiles: ${JSON.stringify(segmentFiles)}, labels: ${JSON.stringify(testDataPath('labels/imagenet_labels.txt'))}}`,
    'cameras:',
    ...Array.from({ length: cameras }, (_, i) => `  cam${i}: ${prefix}/frames/cam${i}`),
    'topK: 3',
    // info: a handful of lines (ready, signal, stopped) that say where a failed run stopped
    'log: {level: info}',
    '',
  ].join('\n');
}

const FLEET = fileURLToPath(new URL('./camera-fleet.js', import.meta.url));

/** How the daemon and its baselines infer: segment files on the CPU engine, or stand-in accelerators. */
export interface Inference {
  /** What the bare and decode+pipeline baselines run. */
  readonly segments: SegmentSource[];
  /** Given to the daemon child; CPU inference when absent. */
  readonly standIn?: StandInPipeline;
}

/** `segmentFiles` on stand-in Edge TPUs whose invokes take `delaysMs` each. */
export function standInInference(segmentFiles: readonly string[], delaysMs: readonly number[]): Inference {
  const standIn = standInPipeline(segmentFiles, delaysMs);
  return { segments: standInSegments(standIn), standIn };
}

/**
 * Lists `inference`'s stand-in Edge TPUs as present ($FAKE_EDGETPU_DEVICES), or none for CPU inference,
 * before its baselines open segments in this process and its daemon child inherits the list.
 */
export function presentStandIns(inference: Inference): void {
  if (inference.standIn) process.env.FAKE_EDGETPU_DEVICES = standInDeviceList(inference.standIn);
  else delete process.env.FAKE_EDGETPU_DEVICES;
}

export async function runScenario(broker: Mosquitto, segmentFiles: string[], inference: Inference, s: Scenario): Promise<ScenarioResult> {
  const node = `bench-${process.pid}-${s.cameras}-${s.fps}`;
  const prefix = `bench${process.pid}`;
  const topics = topicsFor(prefix, node);
  const daemon = await DaemonChild.spawn(configYaml(broker.url, node, prefix, s.cameras, segmentFiles), inference.standIn);
  const observer = await Observer.connect(broker.url, [topics.availability, topics.result('+'), topics.error('+')]);
  let fleet: ChildProcess | undefined;
  try {
    await daemon.whileRunning(observer.next((m) => m.topic === topics.availability && m.payload.toString() === 'online', 60_000));
    const size = s.frameSize ?? { width: 640, height: 480 };
    fleet = fork(FLEET, [broker.url, prefix, String(s.cameras), String(s.fps), String(size.width), String(size.height)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    if (s.camerasNice !== 0) os.setPriority(fleet.pid!, s.camerasNice);
    const reported = message(fleet, (m): m is FleetReport => typeof m === 'object' && m !== null && 'inWindow' in m);
    reported.catch(() => undefined); // awaited below; this only keeps an early exit from being unhandled here
    await message(fleet, (m): m is { ready: true } => typeof m === 'object' && m !== null && 'ready' in m);
    // Once every camera is connected, they start together on one clock (ms since the epoch), a moment
    // ahead so that the schedule reaches them first.
    const start = Date.now() + 200;
    const windowStart = start + s.warmupSeconds * 1000;
    const end = start + s.seconds * 1000;
    fleet.send({ start, windowStart, end } satisfies FleetSchedule);
    const latencyOverTime: Sample[] = [];
    const latencies: number[] = [];
    const daemonMs = { queue: 0, decode: 0, inference: 0 };
    let errors = 0;
    let answered = 0;
    let resultsInWindow = 0;
    observer.client.on('message', (topic, payload) => {
      const now = Date.now();
      if (topic.endsWith('/error')) {
        errors++;
        return;
      }
      if (!topic.endsWith('/result')) return;
      const r = JSON.parse(payload.toString()) as Result;
      if (now >= windowStart && now < end) resultsInWindow++;
      const sent = Date.parse(r.timestamp);
      if (Number.isNaN(sent)) {
        errors++; // a result that cannot be matched to its frame counts against the daemon
        return;
      }
      // Over time: everything, warm-up included; the figures: frames sent in the window only.
      latencyOverTime.push({ t: (now - start) / 1000, value: now - sent });
      if (sent < windowStart || sent >= end) return;
      answered++;
      latencies.push(now - sent);
      daemonMs.queue += r.latencyMs.queue;
      daemonMs.decode += r.latencyMs.decode;
      daemonMs.inference += r.latencyMs.inference;
    });
    const rss: Sample[] = [];
    const sampler = setInterval(() => {
      const bytes = rssBytes(daemon.pid);
      if (bytes !== undefined && Date.now() >= start) rss.push({ t: (Date.now() - start) / 1000, value: bytes / MB });
    }, 250);
    const brokerPid = childPids('mosquitto')[0];
    const cpuNow = () => ({ daemon: cpuSeconds(daemon.pid), broker: brokerPid === undefined ? NaN : cpuSeconds(brokerPid), cameras: cpuSeconds(fleet!.pid!) });
    const at = (epochMs: number) => new Promise((r) => setTimeout(r, Math.max(0, epochMs - Date.now())));
    await at(windowStart);
    const cpu0 = cpuNow();
    await at(end);
    const cpu1 = cpuNow();
    const report = await reported;
    // Frames still in the pipeline when the cameras stop get their answers now.
    await new Promise((r) => setTimeout(r, 1500));
    clearInterval(sampler);
    const windowSeconds = (end - windowStart) / 1000;
    const n = Math.max(1, answered);
    return {
      published: report.inWindow,
      answered,
      errors,
      resultsPerSecond: resultsInWindow / windowSeconds,
      publishedPerSecond: report.inWindow / windowSeconds,
      latencies,
      dropped: report.inWindow === 0 ? 0 : 1 - answered / report.inWindow,
      latencyOverTime,
      rss,
      cpu: {
        daemon: (cpu1.daemon - cpu0.daemon) / windowSeconds,
        broker: (cpu1.broker - cpu0.broker) / windowSeconds,
        cameras: (cpu1.cameras - cpu0.cameras) / windowSeconds,
      },
      daemonMs: { queue: daemonMs.queue / n, decode: daemonMs.decode / n, inference: daemonMs.inference / n },
    };
  } finally {
    if (fleet && fleet.exitCode === null) fleet.kill();
    await observer.close();
    const ended = await daemon.stop();
    if (ended !== 'code 0') throw new Error(`daemon (${loadLabel(s)}) ended with ${ended}: ${daemon.log}`);
  }
}

/** Per-second percentile of samples bucketed by time. */
export function perSecond(samples: Sample[], p: number): [number, number][] {
  const buckets = new Map<number, number[]>();
  for (const { t, value } of samples) {
    const b = Math.floor(t);
    if (!buckets.has(b)) buckets.set(b, []);
    buckets.get(b)!.push(value);
  }
  return [...buckets].sort(([a], [b]) => a - b).map(([b, values]) => [b + 0.5, percentile(values, p)]);
}
