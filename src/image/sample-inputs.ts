/**
 * Real images as model inputs for `verify`: an image-shaped input ([1, H, W, 3] of uint8, int8 or
 * float32) takes the images in turn, one per run; other inputs stay seeded random.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { TensorData, TensorSpec } from '../tensors/tensor.js';
import { imageSize, imageToTensor } from './to-tensor.js';
import { testDataPath, TestDataMissingError } from '../testdata.js';

export type InputSource = (spec: TensorSpec, run: number) => Promise<TensorData | undefined>;

const IMAGE_FILE = /\.(jpe?g|png|webp)$/i;

function isImageInput(spec: TensorSpec): boolean {
  if (!['uint8', 'int8', 'float32'].includes(spec.dtype)) return false;
  try {
    imageSize(spec);
    return true;
  } catch {
    return false;
  }
}

/** The test data's images, or none when the test data is not here. */
async function testImages(): Promise<string[]> {
  try {
    const dir = testDataPath('images');
    return (await readdir(dir)).filter((f) => IMAGE_FILE.test(f)).sort().map((f) => path.join(dir, f));
  } catch (err) {
    if (err instanceof TestDataMissingError) return [];
    throw err;
  }
}

/** Inputs from `files`, or from the test data's images when no files are given; undefined if there are none. */
export async function imageInputs(files?: readonly string[]): Promise<InputSource | undefined> {
  const chosen = files && files.length > 0 ? [...files] : await testImages();
  if (chosen.length === 0) return undefined;
  const images = await Promise.all(chosen.map(async (file) => ({ file, bytes: new Uint8Array(await readFile(file)) })));
  return async (spec, run) => {
    if (!isImageInput(spec)) return undefined;
    const image = images[run % images.length]!;
    return imageToTensor(image.bytes, spec, { source: path.basename(image.file) });
  };
}
