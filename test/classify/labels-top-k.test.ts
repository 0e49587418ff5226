import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LabelsError, parseLabels, readLabels } from '../../src/classify/labels.js';
import { fitLabels, labelCount } from '../../src/classify/labels-fit.js';
import { classCount, topK } from '../../src/classify/top-k.js';
import { below, prng } from '../helpers/seeded.js';
import type { TensorSpec } from '../../src/tensors/tensor.js';
import { testDataPath } from '../../src/testdata.js';

describe('labels', () => {
  it('reads one label per line, index = line number', async () => {
    const labels = await readLabels(testDataPath('labels/imagenet_labels.txt'));
    assert.equal(labels.size, 1001);
    assert.equal(labels.get(0), 'background');
    assert.equal(labels.get(286), 'Egyptian cat');
    assert.equal(labels.get(1000), 'toilet tissue, toilet paper, bathroom tissue');
  });

  it('reads "N label" and "N: label" lines, which give their own index, and skips blank lines', () => {
    const labels = parseLabels('0  person\n1: bicycle\n\n3 traffic light\r\n12:stop sign\n');
    assert.deepEqual([...labels], [[0, 'person'], [1, 'bicycle'], [3, 'traffic light'], [12, 'stop sign']]);
    // Plain lines keep their line number even after a blank one; a label that starts with digits
    // but no separator ("3D glasses") is a plain label.
    assert.deepEqual([...parseLabels('cat\n\ndog\n3D glasses')], [[0, 'cat'], [2, 'dog'], [3, '3D glasses']]);
  });

  it('rejects two labels for one index, naming file and line', () => {
    assert.throws(() => parseLabels('0 cat\n0 dog\n', 'pets.txt'), (err: unknown) => {
      assert.ok(err instanceof LabelsError);
      assert.match(err.message, /^pets\.txt:2: index 0 was already given the label "cat"/);
      return true;
    });
  });

  it('names a labels file it cannot read', async () => {
    await assert.rejects(readLabels('/nonexistent/labels.txt'), (err: unknown) => {
      assert.ok(err instanceof LabelsError);
      assert.match(err.message, /cannot read labels file \/nonexistent\/labels\.txt/);
      return true;
    });
  });
});

describe('fitLabels', () => {
  /** A plain labels file of `n` lines: `background` (when asked), then c1, c2, ... */
  const plain = (n: number, background = false) => parseLabels(Array.from({ length: n }, (_, i) => (background && i === 0 ? 'background' : `c${i}`)).join('\n'));

  it('counts a file as its highest index + 1: last label line of a plain file, highest number + 1 of a numbered one', () => {
    assert.equal(labelCount(parseLabels('a\nb\n\nc\n\n\n')), 4);
    assert.equal(labelCount(parseLabels('0 person\n1 bicycle\n89 toothbrush\n')), 90);
    assert.equal(labelCount(parseLabels('')), 0);
  });

  it('takes one label per output as it is, with no note', () => {
    const labels = plain(5);
    assert.deepEqual(fitLabels(labels, 5, 'l.txt'), { labels });
  });

  it('reads N - 1 labels on N outputs as leaving out background at output 0, and says so', () => {
    const { labels, note } = fitLabels(plain(4), 5, 'l.txt');
    assert.deepEqual([...labels].sort(([a], [b]) => a - b), [[0, 'background'], [1, 'c0'], [2, 'c1'], [3, 'c2'], [4, 'c3']]);
    assert.match(note!, /^l\.txt has 4 labels for 5 outputs: .*output 0 is "background"/);
  });

  it('reads N + 1 labels starting with background on N outputs as dropping that first label, and says so', () => {
    const { labels, note } = fitLabels(plain(6, true), 5, 'l.txt');
    assert.deepEqual([...labels], [[0, 'c1'], [1, 'c2'], [2, 'c3'], [3, 'c4'], [4, 'c5']]);
    assert.match(note!, /^l\.txt has 6 labels for 5 outputs: its first label "background" is not an output/);
  });

  it('refuses any other count, naming the file, the count found and the count needed', () => {
    for (const [labels, found] of [[plain(965), 965], [plain(3), 3], [plain(1003), 1003], [plain(1002), 1002]] as const) {
      assert.throws(() => fitLabels(labels, 1001, '/x/birds.txt'), (err: unknown) => {
        assert.ok(err instanceof LabelsError);
        assert.match(err.message, new RegExp(`^/x/birds\\.txt has ${found} labels but the model's output has 1001 classes: give 1001 labels`));
        return true;
      });
    }
  });
});

describe('topK', () => {
  const quantized: TensorSpec = {
    name: 'probs', dtype: 'uint8', shape: [1, 5], byteSize: 5, quantization: { scale: 1 / 256, zeroPoint: 0 },
  };

  it('gives the k best classes, best first, with dequantized score, raw value and label', () => {
    const labels = parseLabels('a\nb\nc\nd\ne');
    const top = topK(new Uint8Array([10, 200, 30, 0, 45]), quantized, 3, labels);
    assert.deepEqual(top, [
      { index: 1, label: 'b', score: 200 / 256, raw: 200 },
      { index: 4, label: 'e', score: 45 / 256, raw: 45 },
      { index: 2, label: 'c', score: 30 / 256, raw: 30 },
    ]);
  });

  it('applies the zero point, breaks ties by lower index and caps k at the class count', () => {
    const spec: TensorSpec = { ...quantized, dtype: 'int8', quantization: { scale: 0.5, zeroPoint: -128 } };
    const top = topK(new Int8Array([-128, 5, 5, 7, -100]), spec, 10);
    assert.deepEqual(top.map((c) => [c.index, c.score, c.raw]), [[3, 67.5, 7], [1, 66.5, 5], [2, 66.5, 5], [4, 14, -100], [0, 0, -128]]);
    assert.ok(top.every((c) => c.label === undefined));
  });

  it('agrees with sorting every score, on many random outputs full of ties, for every k', () => {
    const random = prng(18);
    for (let round = 0; round < 200; round++) {
      const n = 1 + below(random, 40);
      const spec: TensorSpec = { name: 'p', dtype: 'uint8', shape: [1, n], byteSize: n };
      // Few distinct values, so most scores tie.
      const output = Uint8Array.from({ length: n }, () => below(random, 6));
      const sorted = [...output.keys()].sort((a, b) => output[b]! - output[a]! || a - b);
      for (const k of [1, 3, n, n + 2]) assert.deepEqual(topK(output, spec, k).map((c) => c.index), sorted.slice(0, k), `n ${n}, k ${k}: ${output}`);
    }
    const wide: TensorSpec = { name: 'w', dtype: 'int64', shape: [3], byteSize: 24 };
    assert.deepEqual(topK(new BigInt64Array([5n, -2n, 9n]), wide, 2).map((c) => c.raw), [9, 5]);
  });

  it('takes float outputs as they are', () => {
    const spec: TensorSpec = { name: 'logits', dtype: 'float32', shape: [3], byteSize: 12 };
    assert.deepEqual(topK(new Float32Array([0.25, -1, 2.5]), spec, 1), [{ index: 2, score: 2.5, raw: 2.5 }]);
  });

  it('counts the classes of a score vector', () => {
    assert.equal(classCount(quantized), 5);
    assert.equal(classCount({ ...quantized, shape: [1, 1, 1001] }), 1001);
    assert.throws(() => classCount({ ...quantized, name: 'ArgMax', shape: [1, 513, 513] }), /"ArgMax" has shape \[1, 513, 513\], not a vector of class scores/);
  });

  it('refuses a k that is not a positive integer and an output that is not a score vector', () => {
    assert.throws(() => topK(new Uint8Array(5), quantized, 0), /k must be a positive integer/);
    assert.throws(() => topK(new Uint8Array(6), { ...quantized, shape: [1, 2, 3] }, 1), /not a vector of class scores/);
  });
});
