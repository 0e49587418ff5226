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
 * first; equal scores keep the lower index first. One pass keeping the best k (a daemon runs this per
 * frame: sorting all of mobilenet's 1001 scores cost as much main-thread time as starting the decode).
 */
export function topK(output: TensorData, spec: TensorSpec, k: number, labels?: Labels): ScoredClass[] {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${k}`);
  classCount(spec);
  const best: { index: number; raw: number }[] = [];
  for (let index = 0; index < output.length; index++) {
    const raw = Number(output[index]!);
    if (best.length === k && !(raw > best[k - 1]!.raw)) continue;
    // After every class at least as good: an equal score found later has the higher index.
    let at = best.length;
    while (at > 0 && raw > best[at - 1]!.raw) at--;
    best.splice(at, 0, { index, raw });
    if (best.length > k) best.pop();
  }
  const { scale, zeroPoint } = spec.quantization ?? { scale: 1, zeroPoint: 0 };
  return best.map(({ index, raw }) => {
    const label = labels?.get(index);
    return {
      index,
      ...(label === undefined ? {} : { label }),
      score: scale * (raw - zeroPoint),
      raw,
    };
  });
}
