/** The mobilenet_v2 configurations the pipeline benchmark compares side by side. */
import type { RunnerOptions } from '../../src/pipeline/runner.js';
import type { SegmentSource } from '../../src/pipeline/segment-source.js';
import { readFileSync } from 'node:fs';
import { readModel } from '../../src/model/index.js';
import { executionOrder, profileOperators, type OperatorProfile, type SegmentStrategy, type SegmentTimer } from '../../src/model/segment/index.js';
import type { Model } from '../../src/model/types.js';
import { engineTimer } from '../../src/devices/segment-timer.js';
import { testDataPath } from '../../src/testdata.js';
import { writeSegments } from '../../test/helpers/segment-files.js';
import { strategyRequests } from './strategies.js';

export interface Configuration {
  readonly label: string;
  /** Executors (worker threads) the configuration runs: segments x replicas. */
  readonly workers: number;
  /** How the model was split; undefined for the whole model. */
  readonly strategy?: SegmentStrategy;
  readonly segments: SegmentSource[];
  readonly options: RunnerOptions;
  /** Segment files written for this run, to delete afterwards. */
  readonly written?: readonly string[];
}

export const MOBILENET = 'models/mobilenet_v2_1.0_224_quant.tflite';

/** mobilenet_v2 (its path and parsed model) with the CPU operator profile the `latency` strategy needs. */
export interface ProfiledModel {
  readonly model: string;
  readonly whole: Model;
  readonly timer: SegmentTimer;
  readonly profile: OperatorProfile;
}

/** Profiles mobilenet_v2 once, for every split made from it. */
export async function profiledMobilenet(): Promise<ProfiledModel> {
  const model = testDataPath(MOBILENET);
  const whole = readModel(new Uint8Array(readFileSync(model)));
  const timer = engineTimer({ repeats: 3 });
  return { model, whole, timer, profile: await profileOperators(whole, executionOrder(whole), timer) };
}

/** mobilenet_v2 cut into `count` segment files by the `latency` strategy: the split a user after throughput picks. */
export function writeLatencySplit(m: ProfiledModel, count: number): Promise<string[]> {
  return writeSegments(m.model, { strategy: 'latency', count, timer: m.timer, profile: m.profile });
}

/** Whole model on 1..4 replicas, then 2..4 segments by each strategy, one executor each. */
export async function mobilenetConfigurations(notes: string[]): Promise<Configuration[]> {
  const { model, whole, timer, profile } = await profiledMobilenet();
  const configs: Configuration[] = [{ label: 'whole, 1 executor', workers: 1, segments: [model], options: {} }];
  for (let n = 2; n <= 4; n++) configs.push({ label: `whole, ${n} replicas`, workers: n, segments: [model], options: { replicas: [n] } });
  for (const n of [2, 3, 4]) {
    for (const request of strategyRequests(whole, n, timer, profile)) {
      const files = await writeSegments(model, request);
      configs.push({ label: `${n} segments (${request.strategy})`, workers: n, strategy: request.strategy, segments: files, options: {}, written: files });
    }
  }
  notes.push('one CPU executor (worker thread) per segment or replica; params = equal parameter bytes, cut = evenly spaced cut points, latency = balanced measured time.');
  return configs;
}
