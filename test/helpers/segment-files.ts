/**
 * Writes a model's segments (N by the `params` strategy, or any segmentation request) to a fresh
 * temporary folder, for tests and benchmarks that run segments as a pipeline.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readModel, writeModel } from '../../src/model/index.js';
import { modelStem, segmentFileName, segmentModel, type SegmentRequest } from '../../src/model/segment/index.js';

/** Deletes the folder writeSegments made for `files`. */
export function removeSegments(files: readonly string[]): void {
  if (files[0]) rmSync(path.dirname(files[0]), { recursive: true, force: true });
}

export async function writeSegments(modelFile: string, request: number | SegmentRequest): Promise<string[]> {
  const model = readModel(new Uint8Array(readFileSync(modelFile)));
  const { segments } = await segmentModel(model, typeof request === 'number' ? { strategy: 'params', count: request } : request);
  const count = segments.length;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'coral-pipe-segments-'));
  return segments.map((segment) => {
    const file = path.join(dir, segmentFileName(modelStem(modelFile), segment.index, count));
    writeFileSync(file, writeModel(segment.model));
    return file;
  });
}
