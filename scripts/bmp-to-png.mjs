#!/usr/bin/env node
// Converts an uncompressed 24- or 32-bit BMP (the format of Coral's test images) to a lossless PNG:
//   node scripts/bmp-to-png.mjs IN.bmp OUT.png
// sharp (libvips) reads no BMP, so the few header fields are read here and the pixels handed to
// sharp raw. Field offsets: BITMAPFILEHEADER (14 bytes) then BITMAPINFOHEADER (40+ bytes).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const sharp = createRequire(import.meta.url)('sharp');
const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: node scripts/bmp-to-png.mjs IN.bmp OUT.png');
  process.exit(2);
}
const fail = (problem) => {
  console.error(`bmp-to-png: ${input}: ${problem}`);
  process.exit(1);
};
const bmp = readFileSync(input);
if (bmp.length < 54 || bmp.toString('latin1', 0, 2) !== 'BM') fail('not a BMP file');
const dataOffset = bmp.readUInt32LE(10);
const headerSize = bmp.readUInt32LE(14);
const width = bmp.readInt32LE(18);
const signedHeight = bmp.readInt32LE(22);
const bitsPerPixel = bmp.readUInt16LE(28);
const compression = bmp.readUInt32LE(30);
if (headerSize < 40) fail(`header of ${headerSize} bytes is not a BITMAPINFOHEADER`);
if (compression !== 0) fail(`compression ${compression} is not supported (only uncompressed)`);
if (bitsPerPixel !== 24 && bitsPerPixel !== 32) fail(`${bitsPerPixel} bits per pixel is not supported (only 24 or 32)`);
const height = Math.abs(signedHeight);
if (width <= 0 || height === 0) fail(`bad size ${width}x${signedHeight}`);
const bytesPerPixel = bitsPerPixel / 8;
const stride = Math.ceil((width * bytesPerPixel) / 4) * 4;
if (dataOffset + stride * height > bmp.length) fail('pixel data runs past the end of the file');
const rgb = Buffer.alloc(width * height * 3);
for (let y = 0; y < height; y++) {
  // Rows are stored bottom-up unless the height is negative.
  const row = dataOffset + stride * (signedHeight > 0 ? height - 1 - y : y);
  for (let x = 0; x < width; x++) {
    const src = row + x * bytesPerPixel;
    const dst = (y * width + x) * 3;
    rgb[dst] = bmp[src + 2];
    rgb[dst + 1] = bmp[src + 1];
    rgb[dst + 2] = bmp[src];
  }
}
await sharp(rgb, { raw: { width, height, channels: 3 } }).png().toFile(output);
