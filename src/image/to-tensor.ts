/**
 * An encoded image (JPEG, PNG or WebP) turned into the input tensor of an image model: decoded,
 * made RGB, resized to the tensor's height x width and converted to its element type. A pure async
 * function of (bytes, spec), so the daemon can run it in a worker thread.
 *
 * Conversion rules (the convention of Coral's and TFLite's image classifiers, whose input
 * quantization maps raw pixels to the range the network was trained on):
 * - uint8 input: the pixel values 0..255 as they are;
 * - int8 input: pixel - 128 (the same real values for a model converted from uint8 to int8, whose zero
 *   point moved by -128);
 * - float32 input: (pixel - 127.5) / 127.5, i.e. [-1, 1] (MobileNet-style float models).
 * Transparent images are flattened onto black (what an RGB camera frame would hold there).
 */
import sharp from 'sharp';
import type { DType, TensorData, TensorSpec } from '../tensors/tensor.js';

/** The image cannot become the tensor: not decodable, too large, or a tensor that is not an image. */
export class ImageInputError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ImageInputError';
  }
}

export interface ImageToTensorOptions {
  /** Refuse images whose header claims more pixels than this (decompression bombs); 64 Mpx by default. */
  readonly maxPixels?: number;
  /** Names the image in error messages, e.g. its file name. */
  readonly source?: string;
}

const FORMATS = new Set(['jpeg', 'png', 'webp']);
const JPEG = [0xff, 0xd8, 0xff];
const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const RIFF = [0x52, 0x49, 0x46, 0x46];
const WEBP = [0x57, 0x45, 0x42, 0x50];

const startsWith = (bytes: Uint8Array, signature: readonly number[], at = 0) => signature.every((b, i) => bytes[at + i] === b);

/**
 * Whether `bytes` start as an accepted format does. Those go straight to decoding; only the others pay
 * for sharp's separate header read (a round trip through libuv's pool), which names their format.
 */
function acceptedSignature(bytes: Uint8Array): boolean {
  return startsWith(bytes, JPEG) || startsWith(bytes, PNG) || (startsWith(bytes, RIFF) && startsWith(bytes, WEBP, 8));
}
const DEFAULT_MAX_PIXELS = 64 * 1024 * 1024;

/** The height and width of an NHWC (batch 1) or HWC image tensor with 3 channels. */
export function imageSize(spec: TensorSpec): { height: number; width: number } {
  const shape = spec.shape.length === 4 && spec.shape[0] === 1 ? spec.shape.slice(1) : spec.shape;
  if (shape.length !== 3 || shape[2] !== 3 || !(shape[0]! > 0 && shape[1]! > 0)) {
    throw new ImageInputError(
      `input "${spec.name}" has shape [${spec.shape.join(', ')}], not an RGB image ([1, height, width, 3])`,
    );
  }
  return { height: shape[0]!, width: shape[1]! };
}

/** Throws ImageInputError unless imageToTensor can fill `spec`, so a model is refused before frames arrive. */
export function checkImageInput(spec: TensorSpec): void {
  imageSize(spec);
  converterFor(spec.dtype, spec.name);
}

export async function imageToTensor(bytes: Uint8Array, spec: TensorSpec, options: ImageToTensorOptions = {}): Promise<TensorData> {
  const { height, width } = imageSize(spec);
  const convert = converterFor(spec.dtype, spec.name);
  const source = options.source ?? 'image';
  const limit = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  let pixels: Buffer;
  try {
    const image = sharp(bytes, { limitInputPixels: limit, failOn: 'error' });
    if (!acceptedSignature(bytes)) {
      const meta = await image.metadata();
      if (!meta.format || !FORMATS.has(meta.format)) {
        throw new ImageInputError(`${source}: ${meta.format ?? 'unknown'} images are not accepted (JPEG, PNG or WebP)`);
      }
    }
    pixels = await image
      .flatten({ background: '#000000' })
      .toColourspace('srgb')
      // Stretched to fill (no crop, no letterbox) with sharp's default Lanczos-3 kernel: this gave the
      // reference scores of the shared test data exactly, where 'linear' moved them by up to 12 points.
      .resize(width, height, { fit: 'fill', kernel: 'lanczos3' })
      .removeAlpha()
      .raw()
      .toBuffer();
  } catch (err) {
    if (err instanceof ImageInputError) throw err;
    // sharp checks the size its header claims before decoding anything.
    if (/pixel limit/.test((err as Error).message)) {
      throw new ImageInputError(`${source}: the image has more than the limit of ${limit} pixels`, { cause: err });
    }
    throw new ImageInputError(`${source}: cannot decode: ${(err as Error).message}`, { cause: err });
  }
  if (pixels.length !== height * width * 3) {
    throw new ImageInputError(`${source}: decoded to ${pixels.length} bytes, expected ${height}x${width}x3`);
  }
  return convert(pixels);
}

function converterFor(dtype: DType, name: string): (pixels: Uint8Array) => TensorData {
  switch (dtype) {
    case 'uint8':
      // sharp's own output, owned by nobody else: viewed, not copied (the runner copies it into the item's slab).
      return (pixels) => new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength);
    case 'int8':
      return (pixels) => Int8Array.from(pixels, (p) => p - 128);
    case 'float32':
      return (pixels) => Float32Array.from(pixels, (p) => (p - 127.5) / 127.5);
    default:
      throw new ImageInputError(`input "${name}" is ${dtype}; images convert only to uint8, int8 or float32`);
  }
}
