import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LabelsError, parseLabels, readLabels } from '../src/classify/labels.js';
import { topK } from '../src/classify/top-k.js';
import type { TensorSpec } from '../src/devices/engine.js';
import { testDataPath } from '../src/testdata.js';

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

  it('takes float outputs as they are', () => {
    const spec: TensorSpec = { name: 'logits', dtype: 'float32', shape: [3], byteSize: 12 };
    assert.deepEqual(topK(new Float32Array([0.25, -1, 2.5]), spec, 1), [{ index: 2, score: 2.5, raw: 2.5 }]);
  });

  it('refuses a k that is not a positive integer and an output that is not a score vector', () => {
    assert.throws(() => topK(new Uint8Array(5), quantized, 0), /k must be a positive integer/);
    assert.throws(() => topK(new Uint8Array(6), { ...quantized, shape: [1, 2, 3] }, 1), /not a vector of class scores/);
  });
});
