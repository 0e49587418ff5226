import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ModelSummary } from '../../src/inspect/model-summary.js';
import { readModel } from '../../src/model/index.js';
import { testDataPath } from '../../src/testdata.js';
import { modelBytes } from '../helpers/model-files.js';
import { runCli, type CliResult } from '../helpers/cli.js';

const inspect = (...args: string[]): Promise<CliResult> => runCli('inspect', ...args);

async function summary(relative: string): Promise<ModelSummary> {
  const r = await inspect(testDataPath(relative), '--json');
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as ModelSummary;
}

describe('coral-pipe inspect', () => {
  it('reports a CPU model: inputs, outputs, operator histogram, parameter bytes', async () => {
    const s = await summary('models/mobilenet_v2_1.0_224_quant.tflite');
    assert.deepEqual(s.inputs, [{ name: 'input', dtype: 'uint8', shape: [1, 224, 224, 3], quantization: { scale: [0.0078125], zeroPoint: [128], axis: 0 } }]);
    assert.deepEqual(s.outputs.map((t) => [t.dtype, t.shape]), [['uint8', [1, 1001]]]);
    assert.equal(s.edgeTpuCompiled, false);
    assert.deepEqual(s.customOperators, []);
    assert.equal(s.customOpDataBytes, 0);
    const model = readModel(modelBytes('models/mobilenet_v2_1.0_224_quant.tflite'));
    const ops = model.subgraphs[0]!.operators;
    assert.equal(s.operators, ops.length);
    assert.equal(Object.values(s.operatorCounts).reduce((a, b) => a + b, 0), ops.length);
    assert.ok(s.operatorCounts.CONV_2D! > 30 && s.operatorCounts.SOFTMAX === 1);
    // Every non-empty buffer of this model but its metadata holds weights; 3.4 MB is the size
    // mobilenet_v2 is known for.
    const metadata = new Set(model.metadata.map((m) => m.buffer));
    const weights = model.buffers.reduce((n, b, i) => n + (metadata.has(i) ? 0 : b.data.length), 0);
    assert.equal(s.parameterBytes, weights);
    assert.ok(s.parameterBytes > 3_000_000 && s.parameterBytes < 4_000_000);
  });

  it('reports an Edge TPU model as compiled, with its custom op', async () => {
    const s = await summary('models/mobilenet_v1_0.25_128_quant_edgetpu.tflite');
    assert.equal(s.edgeTpuCompiled, true);
    assert.deepEqual(s.customOperators, ['edgetpu-custom-op']);
    assert.deepEqual(s.operatorCounts, { 'edgetpu-custom-op': 1 });
    // Its weights are compiled into the custom op's payload, not in tensors.
    const model = readModel(modelBytes('models/mobilenet_v1_0.25_128_quant_edgetpu.tflite'));
    assert.equal(s.customOpDataBytes, model.subgraphs[0]!.operators[0]!.customOptions!.length);
    assert.ok(s.customOpDataBytes > 100_000, 'mobilenet_v1_0.25 has about 0.5 MB of weights');
  });

  it('prints the same facts as text', async () => {
    const r = await inspect(testDataPath('models/split_concat.tflite'));
    assert.equal(r.code, 0);
    const text = r.stdout;
    assert.match(text, /^edge tpu compiled: no$/m);
    assert.match(text, /^custom ops: none$/m);
    assert.match(text, /^inputs:\n {2}input1 uint8\[1,8,8,3\] scale=0\.0078125 zero_point=128$/m);
    assert.match(text, /^operators: \d+$/m);
    assert.match(text, /^ +\d+ CONCATENATION$/m);
  });

  it('fails with one line naming the file when it is not a model, and exits 2 on bad arguments', async () => {
    const file = testDataPath('labels/coco_labels.txt');
    const r = await inspect(file);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1);
    assert.match(r.stderr, new RegExp(`^coral-pipe inspect: ModelFormatError: ${file}: invalid TFLite model`));
    assert.equal((await inspect()).code, 2);
    assert.equal((await inspect('a', 'b')).code, 2);
  });
});
