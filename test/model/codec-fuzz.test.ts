/**
 * Seeded mutation fuzzing of the codec over the real models: every mutated file either decodes (and
 * then re-encodes to a model that deep-equals it) or throws ModelFormatError; nothing else.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { ModelFormatError, readModel, writeModel } from '../../src/model/index.js';
import { modelBytes } from '../helpers/model-files.js';
import { prng } from '../helpers/seeded.js';

const INTERESTING_32 = [0, 1, 0xff, 0x7f, 0x80, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffc, 4, 16];
const INTERESTING_8 = [0, 1, 0x7f, 0x80, 0xff, 0xfe, 0x10];

// Cases per file: small models fuzz fast; the edgetpu one has large custom options, the LSTM many
// option tables and -1 inputs, the mobilenet a real converter's layout with metadata and a zip.
const FILES: Record<string, number> = {
  'models/split_concat.tflite': 1500,
  'models/model_invoking_error.tflite': 1500,
  'models/keras_lstm_mnist_ptq.tflite': 1500,
  'models/split_concat_edgetpu.tflite': 1000,
  'models/mobilenet_v1_0.25_128_quant.tflite': 200,
};

type Mutation = (b: Uint8Array, r: () => number, others: Uint8Array[]) => Uint8Array;

/** Where to mutate: mostly the flatbuffer's structure at either end, sometimes anywhere. */
function position(length: number, r: () => number): number {
  const x = r();
  if (x < 0.4) return Math.floor(r() * Math.min(length, 512));
  if (x < 0.6) return Math.max(0, length - 1 - Math.floor(r() * Math.min(length, 512)));
  return Math.floor(r() * length);
}

const MUTATIONS: Record<string, Mutation> = {
  bitFlips(b, r) {
    const out = b.slice();
    const n = 1 + Math.floor(r() * 8);
    for (let i = 0; i < n; i++) out[position(out.length, r)] ^= 1 << Math.floor(r() * 8);
    return out;
  },
  byte(b, r) {
    const out = b.slice();
    out[position(out.length, r)] = INTERESTING_8[Math.floor(r() * INTERESTING_8.length)];
    return out;
  },
  word(b, r) {
    const out = b.slice();
    const at = position(out.length - 4, r) & ~(r() < 0.8 ? 3 : 0);
    new DataView(out.buffer).setUint32(at, INTERESTING_32[Math.floor(r() * INTERESTING_32.length)], true);
    return out;
  },
  truncate(b, r) {
    return b.slice(0, Math.floor(r() * b.length));
  },
  splice(b, r, others) {
    // A run of bytes from this or another model copied over a run of this one.
    const source = others[Math.floor(r() * others.length)];
    const length = 1 + Math.floor(r() * 64);
    const from = Math.floor(r() * Math.max(1, source.length - length));
    const out = b.slice();
    const to = position(out.length, r);
    out.set(source.subarray(from, from + length).subarray(0, out.length - to), to);
    return out;
  },
  insertOrDelete(b, r) {
    const at = position(b.length, r);
    const n = 1 + Math.floor(r() * 8);
    if (r() < 0.5) return new Uint8Array([...b.subarray(0, at), ...new Uint8Array(n).fill(0xff), ...b.subarray(at)]);
    return new Uint8Array([...b.subarray(0, at), ...b.subarray(at + n)]);
  },
};

it('mutated real models decode or throw ModelFormatError, and what decodes re-encodes faithfully', () => {
  const files = Object.keys(FILES);
  const originals = files.map(modelBytes);
  const names = Object.keys(MUTATIONS);
  const counts = { cases: 0, decoded: 0, rejected: 0 };
  const byMutation: Record<string, { decoded: number; rejected: number }> = {};
  for (const name of names) byMutation[name] = { decoded: 0, rejected: 0 };
  for (const [f, original] of originals.entries()) {
    for (let i = 0; i < FILES[files[f]]; i++) {
      const seed = f * 1_000_003 + i;
      const r = prng(seed);
      const mutation = names[Math.floor(r() * names.length)];
      const mutated = MUTATIONS[mutation](original, r, originals);
      counts.cases++;
      let model;
      try {
        model = readModel(mutated);
      } catch (e) {
        if (!(e instanceof ModelFormatError)) {
          assert.fail(`seed ${seed} (${files[f]}, ${mutation}): threw ${e instanceof Error ? e.stack : String(e)}`);
        }
        assert.ok(e.where.length > 0);
        counts.rejected++;
        byMutation[mutation].rejected++;
        continue;
      }
      counts.decoded++;
      byMutation[mutation].decoded++;
      const again = readModel(writeModel(model));
      assert.ok(isDeepStrictEqual(again, model), `seed ${seed} (${files[f]}, ${mutation}): re-encoding changed the model`);
    }
  }
  console.log(`model fuzz: ${counts.cases} cases, ${counts.decoded} decoded, ${counts.rejected} rejected with ModelFormatError`);
  console.log(`model fuzz by mutation: ${JSON.stringify(byMutation)}`);
  assert.equal(counts.decoded + counts.rejected, Object.values(FILES).reduce((a, b) => a + b));
  // Both outcomes must occur, or the mutations are not reaching the structure.
  assert.ok(counts.rejected > counts.cases / 10);
  assert.ok(counts.decoded > counts.cases / 10);
});

it('hostile shared offsets cannot blow up the decoded size', () => {
  // n tensor offsets that all point at one tensor whose shape has n elements: 32 KB of file that
  // would decode to n * n = 16 million numbers if sharing were not bounded.
  const n = 4000;
  const file = new Uint8Array(8 * n + 256);
  const dv = new DataView(file.buffer);
  let p = 8;
  file.set([0x54, 0x46, 0x4c, 0x33], 4); // "TFL3"
  /** A vtable whose only field is `field`, stored 4 bytes into an 8-byte table; then the table. */
  const table = (field: number): number => {
    const vtable = p;
    dv.setUint16(p, 4 + 2 * (field + 1), true);
    dv.setUint16(p + 2, 8, true);
    dv.setUint16(p + 4 + 2 * field, 4, true);
    p += 4 + 2 * (field + 1);
    p = (p + 3) & ~3;
    const at = p;
    dv.setInt32(at, at - vtable, true);
    p += 8;
    return at;
  };
  const pointAt = (slot: number, target: number) => dv.setUint32(slot, target - slot, true);
  const model = table(2); // Model.subgraphs
  pointAt(0, model);
  const subgraphs = p;
  pointAt(model + 4, subgraphs);
  dv.setUint32(p, 1, true);
  p += 8;
  const subgraph = table(0); // SubGraph.tensors
  pointAt(subgraphs + 4, subgraph);
  const tensors = p;
  pointAt(subgraph + 4, tensors);
  dv.setUint32(p, n, true);
  p += 4 + 4 * n;
  const tensor = table(0); // Tensor.shape
  for (let i = 0; i < n; i++) pointAt(tensors + 4 + 4 * i, tensor);
  const shape = p;
  pointAt(tensor + 4, shape);
  dv.setUint32(p, n, true);
  p += 4 + 4 * n;
  const bytes = file.subarray(0, p);
  // With a few tensors the same layout is a valid model: the construction itself is right.
  const small = bytes.slice();
  new DataView(small.buffer).setUint32(tensors, 3, true);
  assert.equal(readModel(small).subgraphs[0].tensors.length, 3);
  assert.throws(() => readModel(bytes), (e: unknown) => e instanceof ModelFormatError && /far larger than the file/.test(e.problem));
});
