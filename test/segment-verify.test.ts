/**
 * Segments run in order on the CPU engine give the whole model's output bytes exactly: every strategy,
 * N = 2..4 on the four models of issue 3 (N = 8 too for mobilenet_v2), and deeplab's runnable part.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readModel, writeModel, type Model } from '../src/model/index.js';
import { BUILTIN_OPERATORS } from '../src/model/schema.js';
import {
  cutCandidates, executionOrder, profileOperators, segmentModel, type OperatorProfile, type SegmentRequest,
} from '../src/model/segment/index.js';
import { engineTimer } from '../src/model/segment/engine-timer.js';
import { runSegmentChain, verifySegments } from '../src/model/segment/verify.js';
import { openEngine } from '../src/devices/open-engine.js';
import { randomTensor, seededRandom } from '../src/model/segment/random-tensors.js';
import { modelBytes } from './helpers/model-files.js';

/** Inputs per comparison: more for the small models, fewer for the larger (CI time). */
const MODELS: { name: string; runs: number; counts: number[] }[] = [
  { name: 'mobilenet_v1_0.25_128_quant', runs: 3, counts: [2, 3, 4] },
  { name: 'mobilenet_v1_0.5_160_quant', runs: 2, counts: [2, 3, 4] },
  { name: 'mobilenet_v2_1.0_224_quant', runs: 1, counts: [2, 3, 4, 8] },
  // 3 operators: N = 4 is refused (tested in segment-cut).
  { name: 'split_concat', runs: 3, counts: [2, 3] },
];

/** N-1 cut tensors spread evenly over the model's single-tensor cut points. */
function evenCuts(model: Model, name: string, count: number): string[][] {
  // split_concat has one single-tensor cut point; its second cut needs two tensors at once.
  if (name === 'split_concat') return [['concat'], ['concat/split3', 'concat/split5']].slice(0, count - 1);
  const candidates = cutCandidates(model);
  return Array.from({ length: count - 1 }, (_, k) => [candidates[Math.floor(((k + 1) * candidates.length) / count)]!]);
}

const cpu = (bytes: Uint8Array) => openEngine({ kind: 'cpu', device: 'cpu:0', model: bytes });

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
          const report = await verifySegments(bytes, segments.map((s) => ({ name: `segment ${s.index}`, bytes: writeModel(s.model) })), { runs, seed: count });
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
    ], { runs: 2 });
    assert.equal(report.identical, false);
    assert.equal(report.differences[0]!.tensor, 'MobilenetV1/Predictions/Reshape_1');
    assert.ok(report.differences[0]!.differing > 0);
  });
});

describe('deeplabv3 (parallel branches, an INT64 ARG_MAX at the end)', () => {
  const bytes = modelBytes('models/deeplabv3_mnv2_dm05_pascal_quant.tflite');
  const model = readModel(bytes);
  const subgraph = model.subgraphs[0]!;
  const argMax = subgraph.operators.findIndex((op) => model.operatorCodes[op.opcodeIndex]!.builtinCode === BUILTIN_OPERATORS.indexOf('ARG_MAX'));
  const logits = subgraph.operators[argMax]!.inputs[0]!;
  // The same model without its ARG_MAX, built by hand: what the segments before it must reproduce.
  const headless: Model = {
    ...model,
    subgraphs: [{ ...subgraph, operators: subgraph.operators.filter((_, i) => i !== argMax), outputs: [logits] }],
  };

  it('the whole model cannot run on the CPU engine (the reason to check its parts)', async () => {
    await assert.rejects(cpu(bytes), /INT64/);
  });

  for (const count of [2, 3, 4]) {
    it(`params N=${count}: a valid chain; the segments before ARG_MAX run; without ARG_MAX, byte-exact`, async () => {
      const { segments } = await segmentModel(model, { strategy: 'params', count });
      assert.equal(segments.findIndex((s) => s.operators.includes(argMax)), count - 1, 'ARG_MAX is last in execution order');
      const engines = await Promise.all(segments.slice(0, -1).map(async (s) => ({ name: `segment ${s.index}`, engine: await cpu(writeModel(s.model)) })));
      try {
        const spec = engines[0]!.engine.inputs[0]!;
        const alive = await runSegmentChain(engines, { [spec.name]: randomTensor(spec, seededRandom(count)) });
        for (const name of segments[count - 1]!.inputs) assert.ok(alive[name]!.length > 0, `"${name}" reaches the last segment`);
      } finally {
        await Promise.all(engines.map((e) => e.engine.dispose()));
      }
      await assert.rejects(cpu(writeModel(segments[count - 1]!.model)), /INT64/);
      const parts = await segmentModel(headless, { strategy: 'params', count });
      const report = await verifySegments(writeModel(headless), parts.segments.map((s) => ({ name: `segment ${s.index}`, bytes: writeModel(s.model) })), { runs: 1, seed: count });
      assert.deepEqual(report.differences, []);
    });
  }

  it('cut just before ARG_MAX: the segments before it equal the model without it, byte for byte', async () => {
    const logitsName = subgraph.tensors[logits]!.name;
    const mid = cutCandidates(model)[10]!;
    const { segments } = await segmentModel(model, { strategy: 'cut', cuts: [[mid], [logitsName]] });
    assert.deepEqual(segments[2]!.operators, [argMax]);
    const report = await verifySegments(writeModel(headless), segments.slice(0, 2).map((s) => ({ name: `segment ${s.index}`, bytes: writeModel(s.model) })), { runs: 1 });
    assert.equal(report.identical, true, JSON.stringify(report.differences));
  });
});
