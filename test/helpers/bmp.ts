/** Writes uncompressed BMPs (as Coral's test images are), to test the BMP-to-PNG conversion. */

/**
 * A BMP of `rgb` (width x height x 3, top row first): 24-bit rows stored bottom-up, the usual
 * layout, or with `topDown` 32-bit BGRX rows stored top-down (negative height), the other one.
 */
export function encodeBmp(rgb: Uint8Array, width: number, height: number, topDown = false): Buffer {
  const bytesPerPixel = topDown ? 4 : 3;
  const stride = Math.ceil((width * bytesPerPixel) / 4) * 4;
  const dataOffset = 14 + 40;
  const bmp = Buffer.alloc(dataOffset + stride * height);
  bmp.write('BM', 0, 'latin1');
  bmp.writeUInt32LE(bmp.length, 2);
  bmp.writeUInt32LE(dataOffset, 10);
  bmp.writeUInt32LE(40, 14);
  bmp.writeInt32LE(width, 18);
  bmp.writeInt32LE(topDown ? -height : height, 22);
  bmp.writeUInt16LE(1, 26);
  bmp.writeUInt16LE(bytesPerPixel * 8, 28);
  for (let y = 0; y < height; y++) {
    const row = dataOffset + stride * (topDown ? y : height - 1 - y);
    for (let x = 0; x < width; x++) {
      const src = (y * width + x) * 3;
      const dst = row + x * bytesPerPixel;
      bmp[dst] = rgb[src + 2]!;
      bmp[dst + 1] = rgb[src + 1]!;
      bmp[dst + 2] = rgb[src]!;
    }
  }
  return bmp;
}
