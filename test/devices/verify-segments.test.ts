/**
 * Segments run in order on the CPU engine give the whole model's output bytes exactly: every strategy,
 * N = 2..4 on the four models of issue 3 (N = 8 too for mobilenet_v2) and on deeplab, and int8 models.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readModel, writeModel, type Model } from '../../src/model/index.js';
import { BUILTIN_OPERATORS } from '../../src/model/schema.js';
import {
  cutCandidates, executionOrder, profileOperators, segmentModel, type OperatorProfile, type SegmentRequest,
} from '../../src/model/segment/index.js';
import { engineTimer } from '../../src/devices/segment-timer.js';
import { verifySegments } from '../../src/devices/verify-segments.js';
import { imageInputs } from '../../src/image/sample-inputs.js';
import { int8AtBoundary, int8Everywhere } from '../helpers/int8-model.js';
import { modelBytes } from '../helpers/model-files.js';

/** Inputs per comparison: more for the small models, fewer for the larger (CI time). */
const MODELS: { name: string; runs: number; counts: number[] }[] = [
  { name: 'mobilenet_v1_0.25_128_quant', runs: 3, counts: [2, 3, 4] },
  { name: 'mobilenet_v1_0.5_160_quant', runs: 2, counts: [2, 3, 4] },
  { name: 'mobilenet_v2_1.0_224_quant', runs: 1, counts: [2, 3, 4, 8] },
  // 3 operators: N = 4 is refused (tested in segment-cut).
  { name: 'split_concat', runs: 3, counts: [2, 3] },
  // Parallel branches (ASPP) and an INT64 ARG_MAX at the end.
  { name: 'deeplabv3_mnv2_dm05_pascal_quant', runs: 1, counts: [2, 3, 4] },
];

/** Real images for image-shaped inputs (the test data's), seeded random for the rest. */
const images = imageInputs();

/** N-1 cut tensors spread evenly over the model's single-tensor cut points. */
function evenCuts(model: Model, name: string, count: number): string[][] {
  // split_concat has one single-tensor cut point; its second cut needs two tensors at once.
  if (name === 'split_concat') return [['concat'], ['concat/split3', 'concat/split5']].slice(0, count - 1);
  const candidates = cutCandidates(model);
  return Array.from({ length: count - 1 }, (_, k) => [candidates[Math.floor(((k + 1) * candidates.length) / count)]!]);
}

describe('segments give the whole model\'s bytes (CPU engine)', () => {
  for (const { name, runs, counts } of MODELS) {
    const bytes = modelBytes(`models/${name}.tflite`);
    const model = readModel(bytes);
    let profile: OperatorProfile | undefined;
    // Few timed runs: the search logic is tested exactly elsewhere; here the point is real segments.
    const timer = engineTimer({ repeats: 2, warmup: 1 });
    for (const count of counts) {
      for (const strategy of ['params', 'cut', 'latency'] as const) {
        it(`${name}: ${strategy}, N=${count}`, async () => {
          let request: SegmentRequest;
          if (strategy === 'params') request = { strategy, count };
          else if (strategy === 'cut') request = { strategy, cuts: evenCuts(model, name, count) };
          else {
            profile ??= await profileOperators(model, executionOrder(model), timer);
            request = { strategy, count, timer, profile, maxCandidates: 3 * count };
          }
          const { segments, latency } = await segmentModel(model, request);
          assert.equal(segments.length, count);
          if (latency) {
            assert.equal(latency.segmentMs.length, count);
            assert.ok(latency.segmentMs.every((ms) => ms > 0));
            assert.ok(latency.candidatesMeasured >= count);
          }
          const report = await verifySegments(bytes, segments.map((s) => ({ name: `segment ${s.index}`, bytes: writeModel(s.model) })), { runs, seed: count, input: await images });
          assert.deepEqual(report.differences, []);
          assert.equal(report.identical, true);
        });
      }
    }
  }

  it('verify notices a changed weight in a segment', async () => {
    const bytes = modelBytes('models/mobilenet_v1_0.25_128_quant.tflite');
    const { segments } = await segmentModel(readModel(bytes), { strategy: 'params', count: 2 });
    const last = segments[1]!.model;
    // Flip a bit in every constant of the last segment: the classifier's output must move.
    const tampered: Model = { ...last, buffers: last.buffers.map((b) => (b.data.length > 16 ? { ...b, data: b.data.map((x, i) => (i % 3 === 0 ? x ^ 1 : x)) } : b)) };
    const report = await verifySegments(bytes, [
      { name: 'segment 0', bytes: writeModel(segments[0]!.model) },
      { name: 'segment 1', bytes: writeModel(tampered) },
    ], { runs: 2, input: await images });
    assert.equal(report.identical, false);
    assert.equal(report.differences[0]!.tensor, 'MobilenetV1/Predictions/Reshape_1');
    assert.ok(report.differences[0]!.differing > 0);
  });
});

describe('deeplabv3 ARG_MAX and int8', () => {
  it('deeplabv3: a cut at the logits leaves ARG_MAX (INT64 output) alone in the last segment, still byte-exact', async () => {
    const bytes = modelBytes('models/deeplabv3_mnv2_dm05_pascal_quant.tflite');
    const model = readModel(bytes);
    const subgraph = model.subgraphs[0]!;
    const argMax = subgraph.operators.findIndex((op) => model.operatorCodes[op.opcodeIndex]!.builtinCode === BUILTIN_OPERATORS.indexOf('ARG_MAX'));
    const logits = subgraph.tensors[subgraph.operators[argMax]!.inputs[0]!]!.name;
    const { segments } = await segmentModel(model, { strategy: 'cut', cuts: [[logits]] });
    assert.deepEqual(segments[1]!.operators, [argMax]);
    const report = await verifySegments(bytes, segments.map((s) => ({ name: `segment ${s.index}`, bytes: writeModel(s.model) })), { runs: 1, input: await images });
    assert.deepEqual(report.differences, []);
  });

  it('int8 split_concat (every tensor int8): cut segments give the int8 model\'s bytes', async () => {
    const int8Bytes = int8Everywhere(modelBytes('models/split_concat.tflite'));
    const int8 = readModel(int8Bytes);
    assert.ok(int8.subgraphs[0]!.inputs.every((t) => int8.subgraphs[0]!.tensors[t]!.type === 'int8'));
    for (const cuts of [[['concat']], [['concat'], ['concat/split3', 'concat/split5']]]) {
      const { segments } = await segmentModel(int8, { strategy: 'cut', cuts });
      const report = await verifySegments(int8Bytes, segments.map((s) => ({ name: `segment ${s.index}`, bytes: writeModel(s.model) })), { runs: 3 });
      assert.deepEqual(report.differences, []);
    }
  });

  it('mobilenet_v1 with int8 input and output: cut segments give its bytes', async () => {
    const bytes = int8AtBoundary(modelBytes('models/mobilenet_v1_0.25_128_quant.tflite'));
    const model = readModel(bytes);
    const c = cutCandidates(model);
    const { segments } = await segmentModel(model, { strategy: 'cut', cuts: [[c[1]!], [c[Math.floor(c.length / 2)]!], [c[c.length - 2]!]] });
    assert.equal(segments[0]!.model.subgraphs[0]!.tensors[segments[0]!.model.subgraphs[0]!.inputs[0]!]!.type, 'int8');
    const report = await verifySegments(bytes, segments.map((s) => ({ name: `segment ${s.index}`, bytes: writeModel(s.model) })), { runs: 2 });
    assert.deepEqual(report.differences, []);
  });
});
