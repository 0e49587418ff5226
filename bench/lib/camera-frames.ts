/** Camera-like frames from the shared test images: 640x480 JPEGs, as a VGA IP camera publishes them. */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { testDataPath } from '../../src/testdata.js';

export async function cameraFrames(width = 640, height = 480, quality = 85): Promise<Buffer[]> {
  const dir = testDataPath('images');
  const images = (await readdir(dir)).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort();
  if (images.length === 0) throw new Error(`no JPEG or PNG images in ${dir}`);
  return Promise.all(images.map((f) => sharp(path.join(dir, f)).resize(width, height, { fit: 'cover' }).jpeg({ quality }).toBuffer()));
}
