/** Seeded random tensors, so a failing comparison can be replayed with the same inputs. */
import { type TensorData, type TensorSpec, allocate, bytesOf, elementCount } from './tensor.js';

/** mulberry32: a tiny, well-mixed 32-bit generator; `Math.random` cannot be seeded. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A tensor of `spec` with random contents: floats in [-1, 1), integers over their whole range. */
export function randomTensor(spec: TensorSpec, random: () => number): TensorData {
  const data = allocate(spec.dtype, elementCount(spec.shape));
  if (data instanceof Float32Array || data instanceof Float64Array) {
    for (let i = 0; i < data.length; i++) data[i] = random() * 2 - 1;
  } else if (spec.dtype === 'bool') {
    for (let i = 0; i < data.length; i++) data[i] = random() < 0.5 ? 0 : 1;
  } else {
    const bytes = bytesOf(data);
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
  }
  return data;
}
