/** Raised when a model cannot be segmented as asked: the message names the request and what is wrong. */
export class SegmentationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SegmentationError';
  }
}
