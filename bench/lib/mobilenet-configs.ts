/** The mobilenet_v2 configurations the pipeline benchmark compares side by side. */
import type { RunnerOptions } from '../../src/pipeline/runner.js';
import type { SegmentSource } from '../../src/pipeline/segment-source.js';
import { readFileSync } from 'node:fs';
import { readModel } from '../../src/model/index.js';
import { executionOrder, profileOperators } from '../../src/model/segment/index.js';
import { engineTimer } from '../../src/model/segment/engine-timer.js';
import { testDataPath } from '../../src/testdata.js';
import { writeSegments } from '../../test/helpers/segment-files.js';

export interface Configuration {
  readonly label: string;
  readonly segments: SegmentSource[];
  readonly options: RunnerOptions;
  /** Segment files written for this run, to delete afterwards. */
  readonly written?: readonly string[];
}

export async function mobilenetConfigurations(notes: string[]): Promise<Configuration[]> {
  const model = testDataPath('models/mobilenet_v2_1.0_224_quant.tflite');
  const configs: Configuration[] = [
    { label: 'whole, 1 executor', segments: [model], options: {} },
    { label: 'whole, 2 replicas', segments: [model], options: { replicas: [2] } },
  ];
  for (const n of [2, 3, 4]) {
    const files = await writeSegments(model, n);
    configs.push({ label: `${n} segments (params)`, segments: files, options: {}, written: files });
  }
  // Parameter bytes do not follow compute in mobilenet (early layers: few weights, most work), so the
  // latency strategy's cuts are the fair test of what pipelining can give.
  const timer = engineTimer({ repeats: 3 });
  const whole = readModel(new Uint8Array(readFileSync(model)));
  const profile = await profileOperators(whole, executionOrder(whole), timer);
  for (const n of [2, 3, 4]) {
    const files = await writeSegments(model, { strategy: 'latency', count: n, timer, profile });
    configs.push({ label: `${n} segments (latency)`, segments: files, options: {}, written: files });
  }
  notes.push('one CPU executor (worker thread) per segment; params = equal parameter bytes, latency = balanced measured time.');
  return configs;
}
