/** The mobilenet_v2 configurations the pipeline benchmark compares side by side. */
import type { RunnerOptions } from '../../src/pipeline/runner.js';
import type { SegmentSource } from '../../src/pipeline/segment-source.js';
import { readFileSync } from 'node:fs';
import { readModel } from '../../src/model/index.js';
import { executionOrder, profileOperators, type SegmentStrategy } from '../../src/model/segment/index.js';
import { engineTimer } from '../../src/model/segment/engine-timer.js';
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

/** Whole model on 1..4 replicas, then 2..4 segments by each strategy, one executor each. */
export async function mobilenetConfigurations(notes: string[]): Promise<Configuration[]> {
  const model = testDataPath(MOBILENET);
  const configs: Configuration[] = [{ label: 'whole, 1 executor', workers: 1, segments: [model], options: {} }];
  for (let n = 2; n <= 4; n++) configs.push({ label: `whole, ${n} replicas`, workers: n, segments: [model], options: { replicas: [n] } });
  const timer = engineTimer({ repeats: 3 });
  const whole = readModel(new Uint8Array(readFileSync(model)));
  const profile = await profileOperators(whole, executionOrder(whole), timer);
  for (const n of [2, 3, 4]) {
    for (const request of strategyRequests(whole, n, timer, profile)) {
      const files = await writeSegments(model, request);
      configs.push({ label: `${n} segments (${request.strategy})`, workers: n, strategy: request.strategy, segments: files, options: {}, written: files });
    }
  }
  notes.push('one CPU executor (worker thread) per segment or replica; params = equal parameter bytes, cut = evenly spaced cut points, latency = balanced measured time.');
  return configs;
}
