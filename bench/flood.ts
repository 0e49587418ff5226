/**
 * A minute of flooding (issue 18): 4 cameras send 640x480 JPEGs for 60 s after 10 s of warm-up to the
 * daemon (mobilenet_v2 in 2 segments) in each case: CPU inference, stand-in accelerators that take the
 * real segments' CPU time, and stand-ins that take none. Each case twice: the cameras together send
 * 1.5 times what the ceiling allows (a third of the frames must be dropped, as real cameras overload an
 * appliance), and as fast as the broker takes them (a stress: hundreds of frames a second that the
 * daemon must still receive to drop them, on the same cores as the simulated cameras). Says
 * whether the daemon's RSS stays flat (its peak in no 10 s window more than 10% above the first's),
 * the frame-to-result p50 and p99, and what the daemon answers against its ceiling, measured alone just
 * before on the same machine: for CPU inference cores / (decode CPU ms + inference CPU ms per frame),
 * with accelerators sharp's decode+resize rate or the bare pipeline's, whichever is lower.
 */
import os from 'node:os';
import type { LineChart, ReportSection } from '../src/report/report-file.js';
import { Mosquitto } from '../test/helpers/mosquitto.js';
import { removeSegments } from '../test/helpers/segment-files.js';
import type { BenchModule, BenchOptions } from './lib/bench.js';
import { cameraFrames } from './lib/camera-frames.js';
import { perSecond, presentStandIns, runScenario, standInInference, type Inference } from './lib/daemon-scenario.js';
import { sharpRate } from './lib/decode-frames.js';
import { profiledMobilenet, writeLatencySplit } from './lib/mobilenet-configs.js';
import { percentile, stream } from './lib/stream.js';

const CAMERAS = 4;
/** As in the e2e bench: on an appliance the cameras are other machines. */
const CAMERAS_NICE = 10;
/** How many times the ceiling's frame rate the cameras send in the paced flood. */
const OVERLOAD = 1.5;
/** RSS whose peaks never rise more than this fraction above the first window's counts as flat (issue 18). */
const FLAT = 0.1;
/** RSS peaks are compared per window of this many seconds: within one, the garbage collector's sawtooth. */
const WINDOW_S = 10;

/** The highest RSS in each whole window after warm-up. */
function windowPeaks(rss: readonly { t: number; value: number }[], from: number, to: number): number[] {
  const peaks: number[] = [];
  for (let start = from; start + WINDOW_S <= to + 1e-9; start += WINDOW_S) {
    peaks.push(Math.max(...rss.filter((x) => x.t >= start && x.t < start + WINDOW_S).map((x) => x.value)));
  }
  return peaks;
}

const bench: BenchModule = {
  name: 'flood',
  async run({ quick }: BenchOptions): Promise<ReportSection[]> {
    const seconds = quick ? 12 : 70;
    const warmupSeconds = quick ? 2 : 10;
    const items = quick ? 30 : 300;
    const cores = os.availableParallelism();
    const frames = await cameraFrames();
    const segmentFiles = await writeLatencySplit(await profiledMobilenet(), 2);
    const broker = await Mosquitto.start();
    try {
      // The ceilings' parts, each alone: inference (the bare pipeline) and decoding (sharp at its best).
      const bare = await stream(segmentFiles, {}, items);
      const sharp = await sharpRate(frames, items, cores);
      const inferenceCpuMs = bare.cpuMsPerItem;
      const decodeCpuMs = sharp.cpuMsPerFrame;
      const cpuCeiling = (cores * 1000) / (decodeCpuMs + inferenceCpuMs);
      const delays = bare.runner.stats().segments.map((s) => s.busyMsMean);
      // Each case's ceiling: with CPU inference the CPU time per frame; with accelerators sharp's rate,
      // or the bare pipeline's when its accelerators are slower than that.
      const cases: { label: string; inference: Inference }[] = [
        { label: 'CPU inference', inference: { segments: segmentFiles } },
        { label: `stand-ins, ${delays.map((d) => d.toFixed(1)).join(' + ')} ms`, inference: standInInference(segmentFiles, delays) },
        { label: 'stand-ins, 0 ms', inference: standInInference(segmentFiles, delays.map(() => 0)) },
      ];
      const rows: Record<string, string | number>[] = [];
      const rssLines: LineChart['series'][number][] = [];
      const latencyLines: LineChart['series'][number][] = [];
      for (const [index, c] of cases.entries()) {
        // The CPU case must not see the stand-ins an earlier case or bench module listed.
        presentStandIns(c.inference);
        let ceiling = { rate: cpuCeiling, of: 'CPU-time ceiling' };
        if (c.inference.standIn) {
          const pipelineRate = (await stream(c.inference.segments, {}, items)).itemsPerSecond;
          ceiling = pipelineRate < sharp.rate ? { rate: pipelineRate, of: 'bare pipeline' } : { rate: sharp.rate, of: 'sharp decode+resize' };
        }
        const floods = [
          { label: `${OVERLOAD}x the ceiling`, fps: Math.ceil((OVERLOAD * ceiling.rate) / CAMERAS) },
          { label: 'as fast as the broker takes them', fps: 0 },
        ];
        for (const [f, flood] of floods.entries()) {
          const r = await runScenario(broker, segmentFiles, c.inference, { cameras: CAMERAS, fps: flood.fps, seconds, warmupSeconds, camerasNice: CAMERAS_NICE });
          const peaks = windowPeaks(r.rss, warmupSeconds, seconds);
          const first = peaks[0] ?? NaN;
          // Growth, not drops: the daemon gives freed native memory back every 30 s (memory-trim.ts), so later peaks may be lower.
          const growth = Math.max(...peaks.map((v) => v - first)) / first;
          // What the simulated cameras and the broker took of the cores; on an appliance the cameras are other machines.
          const coresLeft = cores - r.cpu.broker - r.cpu.cameras;
          rows.push({
            inference: c.label,
            'cameras send': flood.fps > 0 ? `${flood.label}, ${CAMERAS} x ${flood.fps} fps` : flood.label,
            'frames/s offered': r.publishedPerSecond,
            'results/s': r.resultsPerSecond,
            ceiling: `${ceiling.rate.toFixed(1)} (${ceiling.of})`,
            'x ceiling': r.resultsPerSecond / ceiling.rate,
            // A pipeline-bound ceiling does not scale with the cores; a CPU-bound one does.
            'x ceiling on cores left': ceiling.of === 'bare pipeline' ? '' : (r.resultsPerSecond / ceiling.rate) * (cores / coresLeft),
            'p50 ms': percentile(r.latencies, 50),
            'p99 ms': percentile(r.latencies, 99),
            [`RSS peak per ${WINDOW_S} s MB`]: peaks.map((v) => v.toFixed(0)).join(' '),
            'most growth': `${(100 * growth).toFixed(1)}%`,
            flat: growth <= FLAT ? 'yes' : 'no',
            errors: r.errors,
            'CPU ms/result daemon': (1000 * r.cpu.daemon) / r.resultsPerSecond,
            'CPU daemon': r.cpu.daemon,
            'CPU broker': r.cpu.broker,
            'CPU cameras': r.cpu.cameras,
          });
          const line = `${c.label}, ${flood.fps > 0 ? flood.label : 'broker-limited'}`;
          rssLines.push({ label: line, points: r.rss.map((x) => [x.t, x.value]), colourIndex: index, dashed: f > 0 });
          latencyLines.push({ label: `p99, ${line}`, points: perSecond(r.latencyOverTime, 99), colourIndex: index, dashed: f > 0 });
        }
      }
      return [
        {
          title: `a ${seconds} s flood (${seconds - warmupSeconds} s measured): ${CAMERAS} cameras, 640x480 JPEGs, mobilenet_v2 in 2 segments (latency)`,
          rows,
          notes: [
            `ceilings, measured alone just before: CPU-time ceiling = ${cores} cores / (decode ${decodeCpuMs.toFixed(2)} + inference ${inferenceCpuMs.toFixed(2)} CPU ms per frame), each measured alone just before (sharp decode+resize over ${items} frames at its best, ${sharp.parallel} at a time of ${cores}, ${2 * cores} and ${3 * cores}; the bare pipeline over ${items} items); sharp decode+resize = ${sharp.rate.toFixed(1)} frames/s; the bare pipeline on the case's stand-ins over ${items} items.`,
            `RSS sampled every 250 ms; its peak in each ${WINDOW_S} s window after ${warmupSeconds} s of warm-up (within a window the garbage collector's sawtooth); flat = no peak more than ${100 * FLAT}% above the first window's (issue 18; lower peaks come from the daemon's malloc trim every 30 s). p50/p99 = frame published to its result received, frames sent after warm-up.`,
            `x ceiling on cores left = x ceiling x cores / (cores - what the broker and the simulated cameras used): the ceiling on the cores the daemon had (blank where the pipeline, not the cores, sets the ceiling).`,
            `cameras: a child process at nice ${CAMERAS_NICE} on the same cores, the broker on the same cores too. ${OVERLOAD}x the ceiling: each camera paced at its share of ${OVERLOAD} times the case's ceiling (the line in the charts); as fast as the broker takes them: each camera sending its next frame once the broker acknowledges the last (QoS 1; dashed in the charts).`,
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
