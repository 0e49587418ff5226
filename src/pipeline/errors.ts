/** Errors the runner raises, each naming where in the pipeline the problem is. */

/** push after close, or a push still waiting for room when the pipeline closed. */
export class PipelineClosedError extends Error {
  constructor(message = 'pipeline is closed: push after close') {
    super(message);
    this.name = 'PipelineClosedError';
  }
}

/**
 * One item's inference failed; only that item's pop rejects with it. `segment` is the segment's label,
 * e.g. `segment 1 (model_segment_1_of_2.tflite)`.
 */
export class SegmentInvokeError extends Error {
  constructor(
    readonly segment: string,
    readonly device: string,
    cause: { name: string; message: string },
  ) {
    super(`${segment} on ${device} failed: ${cause.name}: ${cause.message}`, { cause });
    this.name = 'SegmentInvokeError';
  }
}

/** An executor died or hung: the whole pipeline stops, and every pending and later call rejects with it. */
export class PipelineFailedError extends Error {
  constructor(
    readonly segment: string,
    readonly device: string,
    reason: string,
    cause?: unknown,
  ) {
    super(`pipeline failed: ${segment} on ${device} ${reason}`, { cause });
    this.name = 'PipelineFailedError';
  }
}

/** release() given something it cannot take back: outputs released already, or not this runner's. */
export class ReleaseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReleaseError';
  }
}
