/** The k best classes of a classifier's output tensor, with scores dequantized where it is quantized. */
import type { TensorData, TensorSpec } from '../tensors/tensor.js';
import type { Labels } from './labels.js';

export interface ScoredClass {
  readonly index: number;
  /** Absent when no labels were given or they have none for this index. */
  readonly label?: string;
  /** The real value: `scale * (raw - zeroPoint)` for a quantized output, else the raw value. */
  readonly score: number;
  /** The value as the tensor holds it (e.g. 0..255 for a uint8 output). */
  readonly raw: number;
}

/** How many classes an output of class scores has; RangeError when it is not a vector (e.g. a segmentation map). */
export function classCount(spec: TensorSpec): number {
  const classes = spec.shape.filter((d) => d !== 1);
  if (classes.length > 1) {
    throw new RangeError(`output "${spec.name}" has shape [${spec.shape.join(', ')}], not a vector of class scores`);
  }
  return classes[0] ?? 1;
}

/**
 * The `k` highest-scoring classes of `output` (a [1, N] or [N] tensor described by `spec`), best
 * first; equal scores keep the lower index first.
 */
export function topK(output: TensorData, spec: TensorSpec, k: number, labels?: Labels): ScoredClass[] {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${k}`);
  classCount(spec);
  const raw = Array.from(output as ArrayLike<number | bigint>, Number);
  const order = raw.map((_, i) => i).sort((a, b) => raw[b]! - raw[a]! || a - b);
  const { scale, zeroPoint } = spec.quantization ?? { scale: 1, zeroPoint: 0 };
  return order.slice(0, k).map((index) => {
    const label = labels?.get(index);
    return {
      index,
      ...(label === undefined ? {} : { label }),
      score: scale * (raw[index]! - zeroPoint),
      raw: raw[index]!,
    };
  });
}
