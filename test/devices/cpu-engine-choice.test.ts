/**
 * The CPU engines a device id names: `litert:N` LiteRT.js, `tflite:N` the native TensorFlow Lite C
 * library (real, fetched by npm install), `cpu:N` LiteRT.js where it can run the model and the native
 * library where it cannot. Real models and images.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { openEngine } from '../../src/devices/open-engine.js';
import type { Engine } from '../../src/devices/engine.js';
import type { NamedTensors } from '../../src/tensors/tensor.js';
import { readModel } from '../../src/model/index.js';
import { modelTensorSpecs } from '../../src/model/tensor-spec.js';
import { testDataPath } from '../../src/testdata.js';

const model = (file: string) => new Uint8Array(readFileSync(testDataPath(`models/${file}`)));
const open = (device: string, file: string) => openEngine({ kind: 'cpu', device, model: model(file) });
const LSTM = 'keras_lstm_mnist_ptq.tflite';

async function once(engine: Engine, inputs: NamedTensors): Promise<NamedTensors> {
  try {
    return await engine.invoke(inputs);
  } finally {
    await engine.dispose();
  }
}

/** The index of the highest score. */
const top = (scores: Uint8Array) => scores.indexOf(Math.max(...scores));

describe('CPU engines by device id', () => {
  it('the native library runs mobilenet_v2 as LiteRT.js does: same specs, same class for a photo', async () => {
    const image = new Uint8Array(await sharp(testDataPath('images/parrot.jpg')).resize(224, 224, { fit: 'fill' }).removeAlpha().raw().toBuffer());
    const file = 'mobilenet_v2_1.0_224_quant.tflite';
    const [native, litert] = [await open('tflite:0', file), await open('litert:0', file)];
    const specs = modelTensorSpecs(readModel(model(file)));
    assert.deepEqual([native.inputs, native.outputs], [specs.inputs, specs.outputs]);
    assert.equal(native.device, 'tflite:0');
    const name = specs.outputs[0]!.name;
    const [a, b] = [await once(native, { input: image }), await once(litert, { input: image })];
    assert.equal(top(a[name] as Uint8Array), top(b[name] as Uint8Array));
    assert.equal(top(a[name] as Uint8Array), 89, 'the parrot is not a macaw (class 89)');
  });

  it('cpu:N runs on the native library what LiteRT.js refuses (an LSTM); litert:N refuses it, saying why', async () => {
    await assert.rejects(open('litert:0', LSTM), /LiteRT cannot run the model/);
    const input = { 'serving_default_x:0': Uint8Array.from({ length: 28 * 28 }, (_, k) => (k * 7) % 256) };
    const auto = await once(await open('cpu:3', LSTM), input);
    const native = await once(await open('tflite:1', LSTM), input);
    assert.deepEqual(auto, native);
    assert.equal((auto['StatefulPartitionedCall:0'] as Uint8Array).length, 10);
  });

  it("says an Edge TPU model needs an Edge TPU, naming the custom op, and passes on TFLite's own refusal of a file", async () => {
    await assert.rejects(open('tflite:0', 'mobilenet_v1_0.25_128_quant_edgetpu.tflite'), (e: Error) => {
      assert.match(e.message, /the model needs an Edge TPU: it holds the custom op edgetpu-custom-op, which only libedgetpu on an Edge TPU runs/);
      assert.match(e.message, /Encountered unresolved custom op: edgetpu-custom-op/);
      return true;
    });
    await assert.rejects(
      openEngine({ kind: 'cpu', device: 'tflite:0', model: new TextEncoder().encode('TFL3 but not a model at all') }),
      /TensorFlow Lite refused the model: ERROR: The model is not a valid Flatbuffer buffer/,
    );
    await assert.rejects(open('cpu:0', 'model_invoking_error.tflite'), /neither CPU engine can run the model: LiteRT\.js: .*fake-op-double.*; TensorFlow Lite: .*unresolved custom op: fake-op-double/s);
  });
});
