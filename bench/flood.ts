/**
 * A minute of flooding (issue 18): 4 cameras send 640x480 JPEGs as fast as the broker takes them, for
 * 60 s, to the daemon (mobilenet_v2 in 2 segments) in each case: CPU inference, stand-in accelerators
 * that take the real segments' CPU time, and stand-ins that take none. Says whether the daemon's RSS
 * stays flat (within 10% of its level after warm-up), the frame-to-result p50 and p99, and what the
 * daemon answers against its ceiling, measured alone just before on the same machine: for CPU inference
 * cores / (decode CPU ms + inference CPU ms per frame), with accelerators sharp's decode+resize rate or
 * the bare pipeline's, whichever is lower.
 */
import os from 'node:os';
import type { LineChart, ReportSection } from '../src/report/report-file.js';
import { Mosquitto } from '../test/helpers/mosquitto.js';
import { removeSegments } from '../test/helpers/segment-files.js';
import type { BenchModule, BenchOptions } from './lib/bench.js';
import { cameraFrames } from './lib/camera-frames.js';
import { perSecond, runScenario, type Inference } from './lib/daemon-scenario.js';
import { decodeFrames } from './lib/decode-frames.js';
import { profiledMobilenet, writeLatencySplit } from './lib/mobilenet-configs.js';
import { standInDeviceList, standInPipeline, standInSegments } from './lib/standin-accelerators.js';
import { percentile, stream } from './lib/stream.js';

const CAMERAS = 4;
/** As in the e2e bench: on an appliance the cameras are other machines. */
const CAMERAS_NICE = 10;
/** RSS within this fraction of its level after warm-up counts as flat (issue 18). */
const FLAT = 0.1;

const bench: BenchModule = {
  name: 'flood',
  async run({ quick }: BenchOptions): Promise<ReportSection[]> {
    const seconds = quick ? 8 : 60;
    const warmupSeconds = quick ? 2 : 5;
    const items = quick ? 30 : 300;
    const cores = os.availableParallelism();
    const frames = await cameraFrames();
    const segmentFiles = await writeLatencySplit(await profiledMobilenet(), 2);
    const broker = await Mosquitto.start();
    try {
      // The ceilings' parts, each alone: inference (the bare pipeline) and decoding (sharp, `cores` at a time).
      const bare = await stream(segmentFiles, {}, items);
      const decoded = await decodeFrames(frames, items, cores);
      const inferenceCpuMs = bare.cpuMsPerItem;
      const decodeCpuMs = decoded.cpuMs / items;
      const sharpRate = items / decoded.seconds;
      const cpuCeiling = (cores * 1000) / (decodeCpuMs + inferenceCpuMs);
      const delays = bare.runner.stats().segments.map((s) => s.busyMsMean);
      const standIn = (ms: readonly number[]): Inference => {
        const pipeline = standInPipeline(segmentFiles, ms);
        return { segments: standInSegments(pipeline), standIn: pipeline };
      };
      // Each case's ceiling: with CPU inference the CPU time per frame; with accelerators sharp's rate,
      // or the bare pipeline's when its accelerators are slower than that.
      const cases: { label: string; inference: Inference }[] = [
        { label: 'CPU inference', inference: { segments: segmentFiles } },
        { label: `stand-ins, ${delays.map((d) => d.toFixed(1)).join(' + ')} ms`, inference: standIn(delays) },
        { label: 'stand-ins, 0 ms', inference: standIn(delays.map(() => 0)) },
      ];
      const rows: Record<string, string | number>[] = [];
      const rssLines: LineChart['series'][number][] = [];
      const latencyLines: LineChart['series'][number][] = [];
      for (const [index, c] of cases.entries()) {
        // The CPU case must not see the stand-ins an earlier case or bench module listed.
        if (c.inference.standIn) process.env.FAKE_EDGETPU_DEVICES = standInDeviceList(c.inference.standIn);
        else delete process.env.FAKE_EDGETPU_DEVICES;
        let ceiling = { rate: cpuCeiling, of: 'CPU-time ceiling' };
        if (c.inference.standIn) {
          const pipelineRate = (await stream(c.inference.segments, {}, items)).itemsPerSecond;
          ceiling = pipelineRate < sharpRate ? { rate: pipelineRate, of: 'bare pipeline' } : { rate: sharpRate, of: 'sharp decode+resize' };
        }
        const r = await runScenario(broker, segmentFiles, c.inference, { cameras: CAMERAS, fps: 0, seconds, warmupSeconds, camerasNice: CAMERAS_NICE });
        const warm = r.rss.filter((x) => x.t >= warmupSeconds && x.t <= seconds).map((x) => x.value);
        const level = warm[0] ?? NaN;
        const drift = Math.max(...warm.map((v) => Math.abs(v - level))) / level;
        rows.push({
          inference: c.label,
          'results/s': r.resultsPerSecond,
          ceiling: `${ceiling.rate.toFixed(1)} (${ceiling.of})`,
          'x ceiling': r.resultsPerSecond / ceiling.rate,
          'p50 ms': percentile(r.latencies, 50),
          'p99 ms': percentile(r.latencies, 99),
          'RSS after warm-up MB': level,
          'RSS min..max MB': `${Math.min(...warm).toFixed(0)}..${Math.max(...warm).toFixed(0)}`,
          'RSS end MB': warm[warm.length - 1] ?? NaN,
          'most drift': `${(100 * drift).toFixed(1)}%`,
          flat: drift <= FLAT ? 'yes' : 'no',
          errors: r.errors,
          'CPU daemon': r.cpu.daemon,
          'CPU broker': r.cpu.broker,
          'CPU cameras': r.cpu.cameras,
        });
        rssLines.push({ label: c.label, points: r.rss.map((x) => [x.t, x.value]), colourIndex: index });
        latencyLines.push({ label: `p99, ${c.label}`, points: perSecond(r.latencyOverTime, 99), colourIndex: index });
      }
      return [
        {
          title: `a ${seconds} s flood: ${CAMERAS} cameras, 640x480 JPEGs, mobilenet_v2 in 2 segments (latency)`,
          rows,
          notes: [
            `ceilings, measured alone just before: CPU-time ceiling = ${cores} cores / (decode ${decodeCpuMs.toFixed(2)} + inference ${inferenceCpuMs.toFixed(2)} CPU ms per frame), each measured alone just before (sharp decode+resize ${cores} at a time over ${items} frames; the bare pipeline over ${items} items); sharp decode+resize = ${sharpRate.toFixed(1)} frames/s; the bare pipeline on the case's stand-ins over ${items} items.`,
            `RSS sampled every 250 ms from ${warmupSeconds} s (after warm-up) to the end; flat = every sample within ${100 * FLAT}% of the first (issue 18). p50/p99 = frame published to its result received, frames sent after warm-up.`,
            `cameras: a child process at nice ${CAMERAS_NICE} on the same cores, each camera sending its next frame once the broker acknowledges the last (QoS 1); the broker on the same cores too.`,
          ],
          charts: [
            { kind: 'lines', title: `Daemon RSS over a ${seconds} s flood`, xLabel: 'seconds since the cameras started', yLabel: 'MB', series: rssLines },
            { kind: 'lines', title: `Frame-to-result p99 per second over a ${seconds} s flood`, xLabel: 'seconds since the cameras started', yLabel: 'ms', series: latencyLines },
          ],
        },
      ];
    } finally {
      await broker.close();
      removeSegments(segmentFiles);
    }
  },
};

export default bench;
