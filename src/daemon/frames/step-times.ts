/**
 * Where a frame's time in the daemon goes, sampled on every frame at the cost of a few clock reads:
 * the mean milliseconds of each step over the frames since the last stats message. `parse` and
 * `result` (the answer's JSON and its publish) run on the main thread, so their wall time is CPU time;
 * `decode` runs in libvips' threads and `inference` is the pipeline's round trip (queues included).
 */
import { round } from './frame-replies.js';

export type FrameStep = 'parse' | 'decode' | 'inference' | 'result';

const STEPS: readonly FrameStep[] = ['parse', 'decode', 'inference', 'result'];

export class StepTimes {
  private sums = new Map<FrameStep, { ms: number; frames: number }>();

  add(step: FrameStep, ms: number): void {
    const sum = this.sums.get(step) ?? { ms: 0, frames: 0 };
    sum.ms += ms;
    sum.frames++;
    this.sums.set(step, sum);
  }

  /** Each step's mean ms per frame since the last take (steps no frame passed left out), and starts again. */
  take(): Partial<Record<FrameStep, number>> {
    const means: Partial<Record<FrameStep, number>> = {};
    for (const step of STEPS) {
      const sum = this.sums.get(step);
      if (sum) means[step] = round(sum.ms / sum.frames, 3);
    }
    this.sums = new Map();
    return means;
  }
}
