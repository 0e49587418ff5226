/**
 * The model a config serves, as the pipeline gets it: its segments' bytes (cut from the whole model by
 * the configured strategy, or the segment files as they are), and what identifies it in results and logs.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Labels } from '../../classify/labels.js';
import type { Device } from '../../devices/device.js';
import { engineTimer } from '../../devices/segment-timer.js';
import { readModel, writeModel } from '../../model/index.js';
import { segmentModel } from '../../model/segment/index.js';
import type { DaemonConfig } from '../config/config-load.js';
import type { ClassifierInfo } from './classifier.js';

/** The segments' bytes from the files `config.model` names (as checkModel read them), and the bytes hashed to identify the model in results. */
export async function segmentSources(config: DaemonConfig, files: readonly Buffer[]): Promise<{ sources: Uint8Array[]; hashed: readonly Buffer[] }> {
  const m = config.model;
  if (m.segmentFiles !== undefined) return { sources: files.map((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength)), hashed: files };
  const bytes = files[0]!;
  const whole = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = m.segments ?? 1;
  if (count === 1) return { sources: [whole], hashed: [bytes] };
  const model = readModel(whole);
  // latency measures candidate segments on the CPU engine, as `coral-pipe segment --strategy latency` does.
  const { segments } = await segmentModel(
    model,
    m.strategy === 'latency' ? { strategy: 'latency', count, timer: engineTimer() } : { strategy: 'params', count },
  );
  return { sources: segments.map((s) => writeModel(s.model)), hashed: [bytes] };
}

export function strategyOf(config: DaemonConfig): NonNullable<ClassifierInfo['strategy']> {
  const m = config.model;
  if (m.segmentFiles !== undefined) return 'files';
  return (m.segments ?? 1) === 1 ? 'whole' : (m.strategy ?? 'params');
}

/** What identifies the model in results and logs. */
export interface ServedModel {
  readonly name: string;
  readonly hash: string;
  readonly labels?: Labels;
  /** How the labels file was fitted to the output when not one label per output (labels-fit.ts), logged at build. */
  readonly labelsNote?: string;
  /** The Edge TPUs in use, for health in stats. */
  readonly edgeTpus?: readonly Device[];
}

/** The model's name (the config's, or the file's without segment and _edgetpu suffixes) and a hash of the bytes `segmentSources` hashed. */
export function modelIdentity(config: DaemonConfig, hashed: readonly Buffer[]): { name: string; hash: string } {
  const hash = createHash('sha256');
  for (const b of hashed) hash.update(b);
  const first = config.model.file ?? config.model.segmentFiles![0]!;
  const name = config.model.name ?? path.basename(first).replace(/(_segment_\d+_of_\d+)?(_edgetpu)?\.tflite$/, '');
  return { name, hash: hash.digest('hex').slice(0, 16) };
}
