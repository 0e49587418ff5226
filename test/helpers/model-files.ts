/** The real .tflite files of the shared test data, for the model codec and graph tests. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { testDataPath } from '../../src/testdata.js';

/** Every .tflite under models/ and segments/, as `models/x.tflite` paths relative to the test data. */
export function allModelFiles(): string[] {
  return ['models', 'segments'].flatMap((dir) =>
    readdirSync(testDataPath(dir))
      .filter((f) => f.endsWith('.tflite'))
      .sort()
      .map((f) => `${dir}/${f}`),
  );
}

/** The file's bytes as a plain Uint8Array in an ArrayBuffer of its own (offset 0, so alignment shows). */
export function modelBytes(relative: string): Uint8Array {
  const file = readFileSync(testDataPath(relative));
  return new Uint8Array(file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength));
}

export const baseName = (relative: string) => path.basename(relative);
