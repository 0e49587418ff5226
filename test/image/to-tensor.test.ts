import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import type { DType, TensorSpec } from '../../src/tensors/tensor.js';
import { ImageInputError, imageSize, imageToTensor } from '../../src/image/to-tensor.js';
import { testDataPath } from '../../src/testdata.js';

const spec = (dtype: DType, height = 4, width = 6, name = 'input'): TensorSpec => ({
  name, dtype, shape: [1, height, width, 3], byteSize: height * width * 3 * (dtype === 'float32' ? 4 : 1),
});

/** A solid image of one colour, encoded. */
function solid(format: 'png' | 'jpeg' | 'webp' | 'gif', rgba: [number, number, number, number], size = 20): Promise<Buffer> {
  const [r, g, b, alpha] = rgba;
  const image = sharp({ create: { width: size, height: size + 5, channels: 4, background: { r, g, b, alpha: alpha / 255 } } });
  if (format === 'jpeg') return image.jpeg({ quality: 100 }).toBuffer();
  if (format === 'webp') return image.webp({ lossless: true }).toBuffer();
  return format === 'gif' ? image.gif().toBuffer() : image.png().toBuffer();
}

async function expectImageError(promise: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ImageInputError, `expected ImageInputError, got ${String(err)}`);
    assert.match(err.message, message);
    return true;
  });
}

describe('imageToTensor', () => {
  it('resizes to the tensor\'s height x width and keeps the colour: uint8 as is', async () => {
    for (const format of ['png', 'webp'] as const) {
      const t = await imageToTensor(await solid(format, [200, 100, 50, 255]), spec('uint8'));
      assert.ok(t instanceof Uint8Array);
      assert.equal(t.length, 4 * 6 * 3);
      for (let i = 0; i < t.length; i += 3) assert.deepEqual([...t.subarray(i, i + 3)], [200, 100, 50], format);
    }
  });

  it('converts to int8 as pixel - 128 and to float32 as (pixel - 127.5) / 127.5', async () => {
    const png = await solid('png', [255, 128, 0, 255]);
    const i8 = await imageToTensor(png, spec('int8'));
    assert.ok(i8 instanceof Int8Array);
    assert.deepEqual([...i8.subarray(0, 3)], [127, 0, -128]);
    const f32 = await imageToTensor(png, spec('float32'));
    assert.ok(f32 instanceof Float32Array);
    assert.equal(f32.length, 4 * 6 * 3);
    assert.deepEqual([...f32.subarray(0, 3)], [1, 0.5 / 127.5, -1].map(Math.fround));
  });

  it('decodes JPEG close to the colour it encoded', async () => {
    const t = await imageToTensor(await solid('jpeg', [30, 160, 220, 255]), spec('uint8'));
    for (let i = 0; i < t.length; i += 3) {
      [30, 160, 220].forEach((v, c) => assert.ok(Math.abs(Number(t[i + c]) - v) <= 3, `channel ${c}: ${t[i + c]}`));
    }
  });

  it('flattens transparency onto black and makes grey images RGB', async () => {
    const transparent = await imageToTensor(await solid('png', [200, 100, 50, 0]), spec('uint8'));
    assert.ok(transparent.every((v) => v === 0));
    const grey = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 90, g: 90, b: 90 } } })
      .toColourspace('b-w').png().toBuffer();
    assert.equal((await sharp(grey).metadata()).channels, 1);
    const t = await imageToTensor(grey, spec('uint8'));
    assert.ok(t.every((v) => v === 90));
  });

  it('keeps the layout: the left half red and the right half blue stay so', async () => {
    const left = await sharp({ create: { width: 10, height: 10, channels: 3, background: '#ff0000' } }).png().toBuffer();
    const image = await sharp({ create: { width: 20, height: 10, channels: 3, background: '#0000ff' } })
      .composite([{ input: left, left: 0, top: 0 }]).png().toBuffer();
    const t = await imageToTensor(image, spec('uint8', 2, 4));
    const px = (y: number, x: number) => [...t.subarray((y * 4 + x) * 3, (y * 4 + x) * 3 + 3)];
    assert.deepEqual([px(0, 0), px(1, 0), px(0, 3), px(1, 3)], [[255, 0, 0], [255, 0, 0], [0, 0, 255], [0, 0, 255]]);
  });

  it('accepts the real test images at the mobilenet size', async () => {
    for (const file of ['images/cat.png', 'images/parrot.jpg']) {
      const t = await imageToTensor(readFileSync(testDataPath(file)), spec('uint8', 224, 224));
      assert.equal(t.length, 224 * 224 * 3);
      assert.ok(new Set(t as Uint8Array).size > 100, `${file} has detail`);
    }
  });

  it('refuses an image whose header claims too many pixels, without decoding it', async () => {
    const jpeg = await solid('jpeg', [1, 2, 3, 255], 8);
    // Patch the frame header (SOF0: FF C0, length, precision, height, width) to claim 60000 x 60000.
    const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
    assert.ok(sof > 0);
    jpeg.writeUInt16BE(60000, sof + 5);
    jpeg.writeUInt16BE(60000, sof + 7);
    await expectImageError(imageToTensor(jpeg, spec('uint8'), { source: 'bomb.jpg' }), /^bomb\.jpg: the image has more than the limit of 67108864 pixels/);
    await expectImageError(imageToTensor(await solid('png', [0, 0, 0, 255], 100), spec('uint8'), { maxPixels: 5000 }),
      /more than the limit of 5000 pixels/);
  });

  it('refuses what is not a JPEG, PNG or WebP image, naming the source', async () => {
    await expectImageError(imageToTensor(new TextEncoder().encode('hello'), spec('uint8'), { source: 'x.txt' }), /^x\.txt: cannot decode/);
    await expectImageError(imageToTensor(await solid('gif', [0, 0, 0, 255]), spec('uint8')), /gif images are not accepted/);
    const png = await solid('png', [0, 0, 0, 255]);
    await expectImageError(imageToTensor(png.subarray(0, png.length / 2), spec('uint8')), /cannot decode/);
    // A frame cut short in transfer.
    const jpeg = readFileSync(testDataPath('images/parrot.jpg'));
    await expectImageError(imageToTensor(jpeg.subarray(0, jpeg.length * 0.6), spec('uint8')), /cannot decode/);
  });

  it("decodes JPEG, PNG and WebP without sharp's separate header read; other bytes get it, to be named", async (t) => {
    const metadata = t.mock.method(sharp.prototype, 'metadata');
    for (const format of ['jpeg', 'png', 'webp'] as const) await imageToTensor(await solid(format, [9, 9, 9, 255]), spec('uint8'));
    assert.equal(metadata.mock.callCount(), 0);
    await expectImageError(imageToTensor(await solid('gif', [0, 0, 0, 255]), spec('uint8')), /gif images are not accepted/);
    assert.equal(metadata.mock.callCount(), 1);
  });

  it('refuses tensors that are not RGB images or not of an image type', async () => {
    await expectImageError(imageToTensor(await solid('png', [0, 0, 0, 255]), { ...spec('uint8'), shape: [1, 1001] }), /not an RGB image/);
    await expectImageError(imageToTensor(await solid('png', [0, 0, 0, 255]), { ...spec('uint8'), shape: [2, 4, 6, 3] }), /not an RGB image/);
    await expectImageError(imageToTensor(await solid('png', [0, 0, 0, 255]), spec('int32')), /int32; images convert only/);
    assert.deepEqual(imageSize({ ...spec('uint8'), shape: [5, 7, 3] }), { height: 5, width: 7 });
  });
});
