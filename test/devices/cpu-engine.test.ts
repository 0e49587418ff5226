import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { EngineInputError, loadCpuEngine, UnsupportedModelError } from '../../src/devices/cpu-engine.js';
import { EngineError, type Engine } from '../../src/devices/engine.js';
import type { NamedTensors, TensorSpec } from '../../src/tensors/tensor.js';
import { loadLiteRtRuntime } from '../../src/devices/litert/runtime.js';
import { LiteRtCallError, WasmModel } from '../../src/devices/litert/wasm-model.js';
import { imageToTensor } from '../../src/image/to-tensor.js';
import { readModel, writeModel } from '../../src/model/index.js';
import { testDataPath } from '../../src/testdata.js';
import { int8AtBoundary, int8Everywhere } from '../helpers/int8-model.js';
import { modelBytes } from '../helpers/model-files.js';

/** Deterministic pseudo-random bytes (LCG), so runs differ by input but not by run. */
function noise(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let s = seed >>> 0;
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

function noiseInputs(engine: Engine, seed: number): NamedTensors {
  return Object.fromEntries(engine.inputs.map((spec, i) => [spec.name, noise(spec.byteSize, seed + i)]));
}

async function rejectsWith(promise: Promise<unknown>, type: new (...args: never[]) => Error, message: RegExp): Promise<Error> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof type, `expected ${type.name}, got ${String(caught)}`);
  assert.match(caught.message, message);
  return caught;
}

const MOBILENET_V1 = 'models/mobilenet_v1_0.25_128_quant.tflite';

describe('CPU engine: specs', () => {
  it('describes inputs and outputs from the model file, with per-tensor quantization', async () => {
    const bytes = modelBytes('models/mobilenet_v2_1.0_224_quant.tflite');
    const engine = await loadCpuEngine(bytes, { device: 'cpu:1' });
    try {
      assert.equal(engine.device, 'cpu:1');
      const sg = readModel(bytes).subgraphs[0]!;
      const expected = (i: number): TensorSpec => {
        const t = sg.tensors[i]!;
        return {
          name: t.name, dtype: t.type, shape: [...t.shape], byteSize: t.shape.reduce((a, b) => a * b, 1),
          quantization: { scale: t.quantization!.scale![0]!, zeroPoint: t.quantization!.zeroPoint![0]! },
        };
      };
      assert.deepEqual(engine.inputs, sg.inputs.map(expected));
      assert.deepEqual(engine.outputs, sg.outputs.map(expected));
      // The README's description of this model.
      assert.deepEqual([engine.inputs[0]!.dtype, engine.inputs[0]!.shape], ['uint8', [1, 224, 224, 3]]);
      assert.deepEqual([engine.outputs[0]!.dtype, engine.outputs[0]!.shape], ['uint8', [1, 1001]]);
    } finally {
      await engine.dispose();
    }
  });

  it('names tensors by tensor name and maps a reordered SignatureDef onto them', async () => {
    const bytes = modelBytes('models/split_concat.tflite');
    const model = readModel(bytes);
    const sg = model.subgraphs[0]!;
    // Keys sort opposite to the tensor order, so a positional mix-up would swap the tensors.
    const key = (i: number, n: number, kind: string) => `${String.fromCharCode(122 - i)}_${kind}${n}`;
    const signed = writeModel({
      ...model,
      signatureDefs: [{
        signatureKey: 'serving_default',
        subgraphIndex: 0,
        inputs: sg.inputs.map((t, i) => ({ name: key(i, i, 'in'), tensorIndex: t })).reverse(),
        outputs: sg.outputs.map((t, i) => ({ name: key(i, i, 'out'), tensorIndex: t })),
      }],
    });
    const plain = await loadCpuEngine(bytes);
    const withSignature = await loadCpuEngine(signed);
    try {
      const names = (specs: readonly TensorSpec[]) => specs.map((s) => s.name).sort();
      assert.deepEqual(names(withSignature.inputs), names(plain.inputs));
      assert.deepEqual(names(withSignature.outputs), names(plain.outputs));
      assert.deepEqual(names(plain.inputs), sg.inputs.map((i) => sg.tensors[i]!.name).sort());
      const inputs = noiseInputs(plain, 7);
      assert.deepEqual(await withSignature.invoke(inputs), await plain.invoke(inputs));
    } finally {
      await plain.dispose();
      await withSignature.dispose();
    }
  });
});

describe('CPU engine: runs', () => {
  let a: Engine;
  let b: Engine;
  before(async () => {
    a = await loadCpuEngine(modelBytes(MOBILENET_V1));
    b = await loadCpuEngine(modelBytes(MOBILENET_V1));
  });
  after(async () => {
    await a.dispose();
    await b.dispose();
  });

  it('gives identical outputs from two engines and across runs, which depend on the input', async () => {
    const input = noiseInputs(a, 1);
    const [x, y, z] = [await a.invoke(input), await b.invoke(input), await a.invoke(input)];
    assert.deepEqual(x, y);
    assert.deepEqual(x, z);
    const other = await a.invoke(noiseInputs(a, 2));
    assert.notDeepEqual(other, x);
    const scores = x[a.outputs[0]!.name]!;
    assert.ok(scores instanceof Uint8Array && scores.length === 1001);
    assert.ok(scores.some((v) => v > 0), 'a softmax output is not all zeros');
  });

  it('accepts inputs in shared memory and hands back outputs the caller owns', async () => {
    const spec = a.inputs[0]!;
    const shared = new Uint8Array(new SharedArrayBuffer(spec.byteSize + 16), 16, spec.byteSize);
    shared.set(noise(spec.byteSize, 3));
    const fromShared = await a.invoke({ [spec.name]: shared });
    const first = fromShared[a.outputs[0]!.name]!;
    const copy = first.slice();
    assert.deepEqual(fromShared, await a.invoke({ [spec.name]: noise(spec.byteSize, 3) }));
    await a.invoke(noiseInputs(a, 4));
    assert.deepEqual(first, copy, 'a later run does not overwrite earlier outputs');
  });

  it('rejects missing, extra, mistyped and mis-sized inputs, naming the tensor', async () => {
    const spec = a.inputs[0]!;
    const good = noise(spec.byteSize, 5);
    const cases: [NamedTensors, RegExp][] = [
      [{}, /missing input tensor "input"/],
      [{ [spec.name]: good, extra: good }, /unknown input tensor "extra"/],
      [{ [spec.name]: new Int8Array(spec.byteSize) }, /"input" is uint8 but was given a Int8Array/],
      [{ [spec.name]: new Uint8Array(spec.byteSize - 1) }, /"input" needs 49152 bytes .* given 49151/],
    ];
    for (const [inputs, message] of cases) {
      const err = await rejectsWith(a.invoke(inputs), EngineInputError, message);
      assert.ok(err instanceof EngineError);
      assert.equal((err as EngineError).device, 'cpu:0');
    }
    // A rejected call leaves the engine usable.
    assert.equal((await a.invoke({ [spec.name]: good }))[a.outputs[0]!.name]!.length, 1001);
  });
});

describe('CPU engine: element types LiteRT.js has no Tensor for', () => {
  it('feeds and reads int8: an int8-boundary model gives the uint8 output minus 128', async () => {
    const bytes = modelBytes(MOBILENET_V1);
    const u8 = await loadCpuEngine(bytes);
    const i8 = await loadCpuEngine(int8AtBoundary(bytes));
    try {
      assert.equal(i8.inputs[0]!.dtype, 'int8');
      assert.equal(i8.outputs[0]!.dtype, 'int8');
      assert.equal(i8.inputs[0]!.quantization!.zeroPoint, u8.inputs[0]!.quantization!.zeroPoint - 128);
      for (const seed of [11, 12]) {
        const pixels = noise(u8.inputs[0]!.byteSize, seed);
        const expected = (await u8.invoke({ [u8.inputs[0]!.name]: pixels }))[u8.outputs[0]!.name]!;
        const shifted = Int8Array.from(pixels, (p) => p - 128);
        const got = (await i8.invoke({ [i8.inputs[0]!.name]: shifted }))[i8.outputs[0]!.name]!;
        assert.ok(got instanceof Int8Array);
        assert.deepEqual(got, Int8Array.from(expected as Uint8Array, (v) => v - 128));
      }
    } finally {
      await u8.dispose();
      await i8.dispose();
    }
  });

  it('returns int64 outputs: deeplab (ARG_MAX) labels a cat as "cat"', async () => {
    const engine = await loadCpuEngine(modelBytes('models/deeplabv3_mnv2_dm05_pascal_quant.tflite'));
    try {
      const out = engine.outputs[0]!;
      assert.deepEqual([out.dtype, out.shape], ['int64', [1, 513, 513]]);
      const image = await imageToTensor(readFileSync(testDataPath('images/cat.png')), engine.inputs[0]!);
      const classes = (await engine.invoke({ [engine.inputs[0]!.name]: image }))[out.name]!;
      assert.ok(classes instanceof BigInt64Array);
      const labels = readFileSync(testDataPath('labels/pascal_voc_segmentation_labels.txt'), 'utf8').split('\n');
      const counts = new Map<bigint, number>();
      for (const c of classes) counts.set(c, (counts.get(c) ?? 0) + 1);
      for (const c of counts.keys()) assert.ok(c >= 0n && c < BigInt(labels.length), `class ${c} out of range`);
      const [top] = [...counts].filter(([c]) => c !== 0n).sort((x, y) => y[1] - x[1]);
      assert.equal(labels[Number(top![0])], 'cat');
    } finally {
      await engine.dispose();
    }
  });
});

describe('CPU engine: refusals', () => {
  const cases: [string, () => Uint8Array, RegExp][] = [
    ['an Edge TPU model', () => modelBytes('models/mobilenet_v1_0.25_128_quant_edgetpu.tflite'), /custom op "edgetpu-custom-op".*Edge TPU/],
    ['a model with an unknown custom op', () => modelBytes('models/model_invoking_error.tflite'), /custom op "fake-op-double"/],
    ['an LSTM with variable tensors', () => modelBytes('models/keras_lstm_mnist_ptq.tflite'),
      /Failed to load model from buffer.*Variable tensors not yet supported/],
    ['a model LiteRT compiles but cannot allocate', () => int8Everywhere(modelBytes(MOBILENET_V1)),
      /failed to prepare.*Failed to allocate tensors/],
    ['bytes that are not a model', () => new TextEncoder().encode('not a tflite model at all, really'), /invalid TFLite model/],
  ];
  for (const [what, bytes, message] of cases) {
    it(`refuses ${what} with UnsupportedModelError`, async () => {
      const err = await rejectsWith(loadCpuEngine(bytes(), { device: 'cpu:3' }), UnsupportedModelError, message);
      assert.equal((err as UnsupportedModelError).device, 'cpu:3');
    });
  }

  it('turns a run that LiteRT only logs as failed into a rejection, not zeros', async () => {
    // Below the engine's custom-op check, straight at the runtime wrapper.
    const wasm = await WasmModel.load(await loadLiteRtRuntime(), modelBytes('models/model_invoking_error.tflite'));
    try {
      await rejectsWith(wasm.run(wasm.inputBytes.map((n) => new Uint8Array(n))), LiteRtCallError,
        /running the model failed: .*fake-op-double.*Failed to allocate tensors/);
    } finally {
      await wasm.delete();
    }
  });

  it('rejects invoke after dispose with EngineError; dispose twice is harmless', async () => {
    const engine = await loadCpuEngine(modelBytes(MOBILENET_V1));
    const inputs = noiseInputs(engine, 9);
    const running = engine.invoke(inputs);
    await engine.dispose();
    assert.equal((await running)[engine.outputs[0]!.name]!.length, 1001, 'a run begun before dispose completes');
    await engine.dispose();
    await rejectsWith(engine.invoke(inputs), EngineError, /after dispose/);
  });
});
