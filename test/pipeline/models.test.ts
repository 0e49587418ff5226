import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type NamedTensors, type TensorData, bytesOf } from '../../src/tensors/tensor.js';
import { EngineError } from '../../src/devices/engine.js';
import { randomTensor, seededRandom } from '../../src/tensors/random-tensors.js';
import { PipelinedModelRunner } from '../../src/pipeline/runner.js';
import { testDataPath } from '../../src/testdata.js';
import { removeSegments, writeSegments } from '../helpers/segment-files.js';

const ITEMS = 6;

/** The outputs of every input, one comparable string per item (output names and bytes). */
const key = (out: NamedTensors) =>
  Object.keys(out)
    .sort()
    .map((name) => `${name}:${Buffer.from(bytesOf(out[name]!)).toString('base64')}`)
    .join('|');

/** Pushes `inputs` from two producers while two consumers pop; returns the output keys. */
async function runConcurrently(runner: PipelinedModelRunner, inputs: TensorData[][]): Promise<string[]> {
  const producers = [0, 1].map(async (p) => {
    for (let i = p; i < inputs.length; i += 2) await runner.push(inputs[i]!);
  });
  const keys: string[] = [];
  const consumers = [0, 1].map(async () => {
    for (let out = await runner.pop(); out !== null; out = await runner.pop()) {
      keys.push(key(out));
      runner.release(out);
    }
  });
  await Promise.all(producers);
  await runner.close();
  await Promise.all(consumers);
  return keys;
}

/** split_concat has 3 operators, so at most 3 segments. */
const CASES: [string, number[]][] = [
  ['mobilenet_v1_0.25_128_quant', [2, 3, 4]],
  ['mobilenet_v1_0.5_160_quant', [2, 3, 4]],
  ['mobilenet_v2_1.0_224_quant', [2, 3, 4]],
  ['split_concat', [2, 3]],
];

for (const [name, counts] of CASES) {
  test(`${name}: pipelined outputs are byte-identical to the whole model's at N = ${counts.join(', ')}`, async () => {
    const model = testDataPath(`models/${name}.tflite`);
    const whole = await PipelinedModelRunner.create([model]);
    const random = seededRandom(42);
    const inputs = Array.from({ length: ITEMS }, () => whole.inputs.map((spec) => randomTensor(spec, random)));
    const expected: string[] = [];
    for (const input of inputs) {
      await whole.push(input);
      expected.push(key((await whole.pop())!));
    }
    await whole.close();
    assert.equal(new Set(expected).size, ITEMS, 'inputs must give distinct outputs for the comparison to mean anything');
    for (const n of counts) {
      const files = await writeSegments(model, n);
      const runner = await PipelinedModelRunner.create(files);
      removeSegments(files);
      assert.equal(runner.chain.segments.length, n);
      assert.deepEqual(runner.inputs.map((s) => s.name), whole.inputs.map((s) => s.name));
      assert.deepEqual(runner.outputs.map((s) => s.name).sort(), whole.outputs.map((s) => s.name).sort());
      const got = await runConcurrently(runner, inputs);
      assert.deepEqual([...got].sort(), [...expected].sort(), `${name} in ${n} segments differs from the whole model`);
      assert.deepEqual(runner.stats().segments.map((s) => s.count), Array(n).fill(ITEMS));
    }
  });
}

test('split_concat: a tensor that skips a segment is carried to its reader', async () => {
  const files = await writeSegments(testDataPath('models/split_concat.tflite'), 3);
  const runner = await PipelinedModelRunner.create(files);
  removeSegments(files);
  try {
    const skipping = [...runner.chain.tensors.values()].filter((t) => t.skips.length > 0);
    assert.ok(skipping.length > 0, JSON.stringify([...runner.chain.tensors.values()]));
  } finally {
    await runner.close();
  }
});

test('model_invoking_error.tflite as a segment is refused when the pipeline is created, naming the device', async () => {
  const segments = [testDataPath('models/mobilenet_v1_0.25_128_quant.tflite'), testDataPath('models/model_invoking_error.tflite')];
  await assert.rejects(PipelinedModelRunner.create(segments), (e: unknown) =>
    e instanceof EngineError && e.device === 'cpu:1' &&
    /^segment 1 \(model_invoking_error\.tflite\): could not open cpu engine on cpu:1: .*"fake-op-double"/.test(e.message));
});
