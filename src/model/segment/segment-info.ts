/**
 * What a segment file says about its place in the whole model, stored as a TFLite metadata entry
 * (name -> buffer, which runtimes ignore). A chain cannot be checked from segment files alone when an
 * early segment returns a model output that no later segment reads (split_concat does): without this,
 * that output looks like a dangling tensor from a foreign model.
 */
import { z } from 'zod';
import type { Model } from '../types.js';
import { SegmentationError } from './errors.js';

export const SEGMENT_METADATA_NAME = 'coral_pipe_segment';

export interface SegmentInfo {
  /** 0-based position and number of segments. */
  readonly index: number;
  readonly count: number;
  /** The whole model's input and output tensor names. */
  readonly modelInputs: readonly string[];
  readonly modelOutputs: readonly string[];
}

export function encodeSegmentInfo(info: SegmentInfo): Uint8Array {
  const { index, count, modelInputs, modelOutputs } = info;
  return new TextEncoder().encode(JSON.stringify({ index, count, modelInputs, modelOutputs }));
}

const Schema = z.object({
  index: z.number().int().nonnegative(),
  count: z.number().int().positive(),
  modelInputs: z.array(z.string()),
  modelOutputs: z.array(z.string()),
});

/** The segment's info, or undefined for a model that carries none (e.g. `edgetpu_compiler` output). */
export function readSegmentInfo(model: Model): SegmentInfo | undefined {
  const entry = model.metadata.find((m) => m.name === SEGMENT_METADATA_NAME);
  if (!entry) return undefined;
  const data = model.buffers[entry.buffer]?.data ?? new Uint8Array(0);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(data));
  } catch (err) {
    throw new SegmentationError(`metadata "${SEGMENT_METADATA_NAME}" is not valid JSON`, { cause: err });
  }
  const parsed = Schema.safeParse(value);
  if (!parsed.success) {
    throw new SegmentationError(`metadata "${SEGMENT_METADATA_NAME}" is malformed: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}
