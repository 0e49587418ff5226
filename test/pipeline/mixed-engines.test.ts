// A pipeline whose first segment runs on an Edge TPU and whose second runs on the CPU, as when a
// post-processing segment stays on the host. No Edge TPU here: the first segment, mobilenet_v2's first
// half "compiled" for the stand-in, runs in the real TensorFlow Lite library through the native addon
// with the stand-in libedgetpu, whose delegate computes output[k] = input[k mod length] + 1 (uint8,
// wrapping); the second is the real mobilenet_v2 second half in LiteRT.js.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { loadCpuEngine } from '../../src/devices/cpu-engine.js';
import type { EdgeTpuDeviceRef } from '../../src/devices/edgetpu-engine.js';
import type { Engine } from '../../src/devices/engine.js';
import { PipelinedModelRunner } from '../../src/pipeline/runner.js';
import { testDataPath } from '../../src/testdata.js';
import { buildStandInEdgeTpu, standInCompiled, type StandInLibraries } from '../helpers/standin-edgetpu.js';
import { removeSegments, writeSegments } from '../helpers/segment-files.js';

const TPU: EdgeTpuDeviceRef = { id: 'usb:/sys/bus/usb/devices/2-1', type: 'usb', selector: '/sys/bus/usb/devices/2-1' };

describe('a pipeline mixing an Edge TPU segment and a CPU segment', () => {
  let libs: StandInLibraries;
  let files: string[];
  let cpuSegment: Engine;

  before(async () => {
    libs = buildStandInEdgeTpu();
    process.env.FAKE_EDGETPU_DEVICES = `usb:${TPU.selector}`;
    files = await writeSegments(testDataPath('models/mobilenet_v2_1.0_224_quant.tflite'), 2);
    cpuSegment = await loadCpuEngine(new Uint8Array(readFileSync(files[1]!)), { device: 'cpu:9' });
  });
  after(async () => {
    await cpuSegment.dispose();
    removeSegments(files);
  });

  it('carries the Edge TPU segment output by name into the CPU segment, byte for byte', async () => {
    const handoff = cpuSegment.inputs[0]!;
    const tpuSegment = standInCompiled(new Uint8Array(readFileSync(files[0]!)));
    const runner = await PipelinedModelRunner.create([
      [{ kind: 'edgetpu', model: tpuSegment, device: TPU, libraries: { edgetpu: [libs.edgetpu], tflite: [libs.tflite] } }],
      files[1]!,
    ]);
    try {
      const images = [3, 200].map((seed) => Uint8Array.from({ length: 224 * 224 * 3 }, (_, k) => (k * seed) % 251));
      for (const image of images) await runner.push({ input: image });

      for (const image of images) {
        // What the stand-in Edge TPU computes, then the real CPU segment on it.
        const intermediate = Uint8Array.from({ length: handoff.byteSize }, (_, k) => (image[k % image.length]! + 1) % 256);
        const expected = await cpuSegment.invoke({ [handoff.name]: intermediate });
        const out = await runner.pop();
        assert.ok(out);
        assert.deepEqual(Object.keys(out), Object.keys(expected));
        for (const name of Object.keys(expected)) assert.deepEqual(new Uint8Array(out[name]!.buffer, out[name]!.byteOffset, out[name]!.byteLength), expected[name]);
      }
      const stats = runner.stats();
      assert.deepEqual(stats.segments.map((s) => [s.devices, s.count]), [[[TPU.id], 2], [[stats.segments[1]!.devices[0]!], 2]]);
      assert.match(stats.segments[1]!.devices[0]!, /^cpu:/);
    } finally {
      await runner.close();
    }
  });
});
