/** What a tensor is (tensors/tensor.ts): element sizes, views and copies as bytes, and the check of named tensors. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allocate, byteSizeOf, bytesOf, checkNamedTensors, elementSize, matchesDType, TensorInputError, viewAs, type TensorSpec } from '../../src/tensors/tensor.js';

const spec = (name: string, dtype: TensorSpec['dtype'], shape: number[]): TensorSpec => ({ name, dtype, shape, byteSize: byteSizeOf(dtype, shape) });

describe('element types', () => {
  it('know their sizes; types of no fixed size have none, and unknown dimensions count as one', () => {
    assert.deepEqual(['uint8', 'int16', 'float16', 'float32', 'int64', 'complex64', 'complex128', 'string'].map((t) => elementSize(t as TensorSpec['dtype'])), [1, 2, 2, 4, 8, 8, 16, 0]);
    assert.equal(byteSizeOf('float32', [1, 224, 224, 3]), 602112);
    assert.equal(byteSizeOf('int8', [-1, 10]), 10);
  });

  it('view bytes as their typed array without copying, and bytes of any typed array back', () => {
    const bytes = new Uint8Array(new ArrayBuffer(16), 8, 8);
    const view = viewAs('int32', bytes);
    assert.ok(view instanceof Int32Array && view.length === 2 && view.buffer === bytes.buffer && view.byteOffset === 8);
    view[0] = -1;
    assert.deepEqual([...bytesOf(view).subarray(0, 4)], [255, 255, 255, 255]);
    assert.ok(viewAs('bool', bytes) instanceof Uint8Array);
    assert.ok(allocate('int64', 3) instanceof BigInt64Array);
  });

  it('accept their own typed array or raw bytes for a tensor, and refuse arrays of another type', () => {
    assert.ok(matchesDType('float32', new Float32Array(1)));
    assert.ok(matchesDType('float32', Buffer.alloc(4)), 'raw bytes stand for any type');
    assert.ok(matchesDType('int16', new Uint8ClampedArray(2)));
    assert.equal(matchesDType('float32', new Int32Array(1)), false);
  });
});

describe('named tensors against their specs', () => {
  const specs = [spec('image', 'uint8', [1, 2, 2, 3]), spec('mask', 'float32', [2])];
  const ok = { image: new Uint8Array(12), mask: new Float32Array(2) };
  const problem = (tensors: Record<string, unknown>) => {
    try {
      checkNamedTensors(specs, tensors as never, 'push');
    } catch (err) {
      assert.ok(err instanceof TensorInputError);
      return err.message;
    }
    return 'no error';
  };

  it('pass when each is there with its type and size', () => {
    assert.equal(problem(ok), 'no error');
  });

  it('name the first problem: a missing, wrongly typed, wrongly sized or unknown tensor', () => {
    assert.equal(problem({ image: ok.image }), 'push: missing input tensor "mask"');
    assert.equal(problem({ ...ok, mask: new Int32Array(2) }), 'push: tensor "mask" is float32 but was given a Int32Array');
    assert.equal(problem({ ...ok, image: new Uint8Array(11) }), 'push: tensor "image" needs 12 bytes (uint8[1x2x2x3]) but was given 11');
    assert.equal(problem({ ...ok, extra: new Uint8Array(1) }), 'push: unknown input tensor "extra"; expected "image", "mask"');
    assert.equal(problem({ ...ok, mask: [0, 1] }), 'push: tensor "mask" is float32 but was given a Array');
  });
});
