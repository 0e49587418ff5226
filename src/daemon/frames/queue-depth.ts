/**
 * How many frames the daemon has decoding or in the pipeline at once. Each segment needs one to work
 * on and one waiting, or it idles between hand-offs; two more cover the JPEG decode ahead of the first
 * segment, whose time varies with the load on the cores. With 2 segments on stand-in accelerators,
 * cameras flooding: 4 frames gave 0.84-0.92 of the bare pipeline's throughput, 6 gave 0.93-0.96
 * (docs/benchmarks.md). More frames in flight also means more latency when the cameras overload it.
 */
import type { DaemonConfig } from '../config/config-load.js';

export function queueDepthFor(limits: DaemonConfig['limits'], segments: number): number {
  return limits.queueDepth ?? 2 * segments + 2;
}
