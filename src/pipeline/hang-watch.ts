/**
 * Turns a pipeline that stops moving into a failure instead of a silent hang: an executor whose engine
 * has been in one invoke for longer than the timeout (measured by the executor itself, so that a busy
 * main thread is not taken for a hung engine), and items in flight that nothing works on (a deadlock:
 * never expected, but if one is ever introduced it is reported, not silent).
 */
import { PipelineFailedError } from './errors.js';
import type { Stage } from './stage.js';

/** How often a pipeline without a hang timeout is still checked for deadlock. */
const STALL_CHECK_MS = 1000;

export interface WatchOptions {
  readonly stages: readonly Stage[];
  /** 0: engines may take for ever. */
  readonly hangTimeoutMs: number;
  /** Why nothing can move although items are in flight, or undefined when things can. */
  stalled(): string | undefined;
  fail(failure: PipelineFailedError): void;
}

/**
 * Checks every executor a few times per timeout; a stall must be seen on two checks in a row. Returns the
 * timer to clear; it does not keep the process alive.
 */
export function watchPipeline(options: WatchOptions): NodeJS.Timeout {
  const { stages, hangTimeoutMs } = options;
  let stalledBefore = false;
  const timer = setInterval(
    () => {
      for (const stage of stages) {
        for (const executor of stage.executors) {
          const ms = executor.invokeRunningMs();
          if (hangTimeoutMs > 0 && ms !== undefined && ms > hangTimeoutMs) {
            options.fail(new PipelineFailedError(stage.label, executor.device, `did not answer within ${hangTimeoutMs} ms (hung)`));
            return;
          }
        }
      }
      const why = options.stalled();
      if (why !== undefined && stalledBefore) options.fail(new PipelineFailedError('the pipeline', 'its executors', `made no progress: ${why} (deadlock)`));
      stalledBefore = why !== undefined;
    },
    hangTimeoutMs > 0 ? Math.max(5, Math.min(hangTimeoutMs / 4, STALL_CHECK_MS)) : STALL_CHECK_MS,
  );
  timer.unref();
  return timer;
}
