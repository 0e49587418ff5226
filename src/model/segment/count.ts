/** How many segments: checks a requested count, and picks one for `--num-segments auto`. */
import { SegmentationError } from './errors.js';

/** Refuses counts that cannot give every segment at least one operator. */
export function checkSegmentCount(count: number, operators: number): void {
  if (!Number.isInteger(count) || count < 1) throw new SegmentationError(`the number of segments must be a whole number ≥ 1, not ${count}`);
  if (count > operators) {
    throw new SegmentationError(`cannot make ${count} segments from a model with ${operators} operators (at most ${operators})`);
  }
}

/** The Edge TPU's on-chip parameter cache (~8 MB): a segment whose parameters fit runs without streaming. */
export const EDGETPU_CACHE_BYTES = 8 * 1024 * 1024;

/** Coral's rule of thumb: one Edge TPU segment per 6 MB of parameters. */
const EDGETPU_BYTES_PER_SEGMENT = 6 * 1024 * 1024;

export type SegmentTarget = 'edgetpu' | 'cpu';

/**
 * `--num-segments auto`: ceil(parameter MB / 6) for the Edge TPU; for CPU targets one segment per CPU
 * device. Never more segments than operators, never fewer than one.
 */
export function autoSegmentCount(target: SegmentTarget, totalParameterBytes: number, operators: number, cpuDevices: number): number {
  const wanted = target === 'edgetpu' ? Math.ceil(totalParameterBytes / EDGETPU_BYTES_PER_SEGMENT) : cpuDevices;
  return Math.max(1, Math.min(wanted, operators));
}
