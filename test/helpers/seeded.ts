/** Seeded randomness for fuzz tests, so a failing case can be replayed from its seed. */

/** The project's seeded generator (mulberry32), floats in [0, 1). */
export { seededRandom as prng } from '../../src/tensors/random-tensors.js';

export type Random = () => number;

/** An integer in [0, n). */
export const below = (r: Random, n: number): number => Math.floor(r() * n);

/** One element of `items`. */
export const pick = <T>(r: Random, items: readonly T[]): T => items[below(r, items.length)]!;

export function randomBytes(r: Random, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = below(r, 256);
  return out;
}

const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff, 0xd8, 0xd9, 0xda, 0xc0, 0xc4, 0xdb];

/**
 * A generic byte-level mutation of `input`, kept at most `maxLength` long: bit flips, interesting
 * bytes, truncation, a run of random or repeated bytes overwritten or inserted, or a chunk deleted.
 */
export function mutateBytes(r: Random, input: Buffer, maxLength = input.length * 2): Buffer {
  const at = () => below(r, Math.max(1, input.length));
  let out: Buffer;
  switch (below(r, 6)) {
    case 0: {
      out = Buffer.from(input);
      for (let i = 1 + below(r, 16); i > 0; i--) out[at()] ^= 1 << below(r, 8);
      break;
    }
    case 1: {
      out = Buffer.from(input);
      for (let i = 1 + below(r, 8); i > 0; i--) out[at()] = pick(r, INTERESTING);
      break;
    }
    case 2:
      out = input.subarray(0, below(r, input.length + 1));
      break;
    case 3: {
      out = Buffer.from(input);
      const from = at();
      const run = r() < 0.5 ? randomBytes(r, 1 + below(r, 256)) : Buffer.alloc(1 + below(r, 256), pick(r, INTERESTING));
      run.copy(out, from, 0, Math.min(run.length, out.length - from));
      break;
    }
    case 4: {
      const from = at();
      out = Buffer.concat([input.subarray(0, from), randomBytes(r, 1 + below(r, 512)), input.subarray(from)]);
      break;
    }
    default: {
      const from = at();
      out = Buffer.concat([input.subarray(0, from), input.subarray(from + 1 + below(r, 1024))]);
    }
  }
  return out.length > maxLength ? out.subarray(0, maxLength) : out;
}
