/** Turns an executor that stops answering into a pipeline failure instead of a silent hang. */
import { PipelineFailedError } from './errors.js';
import type { Stage } from './stage.js';

/**
 * Checks every slot a few times per timeout and reports the first whose oldest item has run longer
 * than `timeoutMs`. Returns the timer to clear, or undefined for 0 (never). The timer does not keep
 * the process alive.
 */
export function watchForHangs(stages: readonly Stage[], timeoutMs: number, hung: (failure: PipelineFailedError) => void): NodeJS.Timeout | undefined {
  if (timeoutMs <= 0) return undefined;
  const timer = setInterval(() => {
    const now = performance.now();
    for (const stage of stages) {
      for (const slot of stage.slots) {
        if (slot.running.length > 0 && now - slot.startedAt > timeoutMs) {
          hung(new PipelineFailedError(stage.label, slot.executor.device, `did not answer within ${timeoutMs} ms (hung)`));
          return;
        }
      }
    }
  }, Math.max(5, timeoutMs / 4));
  timer.unref();
  return timer;
}
