/**
 * The re-encoded file is the same model to LiteRT: on the same inputs, the CPU engine gives
 * byte-identical outputs for the original and for `writeModel(readModel(original))`; a model the
 * engine refuses is refused the same way in both forms.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { loadCpuEngine } from '../../src/devices/cpu-engine.js';
import { allocate, bytesOf, elementSize, type NamedTensors } from '../../src/tensors/tensor.js';
import type { Engine } from '../../src/devices/engine.js';
import { loadLiteRtRuntime } from '../../src/devices/litert/runtime.js';
import { readModel, writeModel } from '../../src/model/index.js';
import { allModelFiles, modelBytes } from '../helpers/model-files.js';

/** Deterministic input bytes for every input of `engine` (a simple LCG, so runs repeat). */
function inputsFor(engine: Engine, seed: number): NamedTensors {
  let s = seed >>> 0;
  const inputs: NamedTensors = {};
  for (const spec of engine.inputs) {
    const data = allocate(spec.dtype, spec.byteSize / elementSize(spec.dtype));
    const bytes = bytesOf(data);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 24;
    inputs[spec.name] = data;
  }
  return inputs;
}

async function load(bytes: Uint8Array): Promise<Engine | Error> {
  try {
    return await loadCpuEngine(bytes, { device: 'cpu:0' });
  } catch (e) {
    return e as Error;
  }
}

const engines: Engine[] = [];
before(async () => {
  await loadLiteRtRuntime();
});
after(async () => {
  for (const e of engines) await e.dispose();
});

const ran: string[] = [];
for (const file of allModelFiles().filter((f) => f.startsWith('models/'))) {
  it(`${file}: the re-encoded model behaves identically in the CPU engine`, async () => {
    const original = modelBytes(file);
    const reencoded = writeModel(readModel(original));
    const a = await load(original);
    const b = await load(reencoded);
    if (a instanceof Error || b instanceof Error) {
      assert.ok(a instanceof Error && b instanceof Error, `${file}: one form loads, the other does not`);
      assert.equal(b.constructor, a.constructor);
      assert.equal(b.message, a.message);
      return;
    }
    engines.push(a, b);
    assert.deepEqual(b.inputs, a.inputs);
    assert.deepEqual(b.outputs, a.outputs);
    for (const seed of [1, 2]) {
      const inputs = inputsFor(a, seed);
      const outA: NamedTensors = await a.invoke(inputs);
      const outB: NamedTensors = await b.invoke(inputs);
      assert.deepEqual(Object.keys(outB), Object.keys(outA));
      for (const name of Object.keys(outA)) assert.deepEqual(bytesOf(outB[name]), bytesOf(outA[name]), `${file}: output ${name}`);
    }
    ran.push(file);
  });
}

it('the CPU engine ran the CPU models (not only refusals)', () => {
  for (const file of ['models/mobilenet_v2_1.0_224_quant.tflite', 'models/mobilenet_v1_0.25_128_quant.tflite', 'models/split_concat.tflite']) {
    assert.ok(ran.includes(file), `${file} did not run`);
  }
});
