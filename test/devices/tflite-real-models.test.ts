/**
 * Every Edge TPU model and segment of the test data on the real TensorFlow Lite C library with the
 * stand-in libedgetpu (no Edge TPU here): each opens with the tensor specs our own codec reads from the
 * file, and the SSD segment chains of 2 and 4 run through PipelinedModelRunner exactly as the segments
 * run one after another; the last segment's TFLite_Detection_PostProcess runs for real on the CPU.
 * And a stand-in Edge TPU that hangs is caught by the runner's hang watch.
 */
import assert from 'node:assert/strict';
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { loadEdgeTpuEngine, type EdgeTpuDeviceRef } from '../../src/devices/edgetpu-engine.js';
import type { Engine } from '../../src/devices/engine.js';
import type { NamedTensors } from '../../src/tensors/tensor.js';
import { readModel } from '../../src/model/index.js';
import { modelTensorSpecs } from '../../src/model/tensor-spec.js';
import { PipelineFailedError } from '../../src/pipeline/errors.js';
import { PipelinedModelRunner } from '../../src/pipeline/runner.js';
import { testDataPath } from '../../src/testdata.js';
import { buildStandInEdgeTpu, type StandInLibraries } from '../helpers/standin-edgetpu.js';

const SSD = 'ssd_mobilenet_v1_coco_quant_postprocess';
const devices: EdgeTpuDeviceRef[] = [1, 2, 3, 4].map((port) => ({ id: `usb:/sys/bus/usb/devices/2-${port}`, type: 'usb', selector: `/sys/bus/usb/devices/2-${port}` }));
const edgeTpuFiles = [
  ...readdirSync(testDataPath('models')).filter((f) => f.endsWith('_edgetpu.tflite')).map((f) => testDataPath(`models/${f}`)),
  ...readdirSync(testDataPath('segments')).filter((f) => f.endsWith('_edgetpu.tflite')).map((f) => testDataPath(`segments/${f}`)),
];

/**
 * The detections a post-processed SSD output holds: its count, then that many boxes, classes and
 * scores. TFLite leaves the rows past the count as they were in the arena, so only these are compared.
 */
function detections(out: NamedTensors): number[] {
  const count = (out['TFLite_Detection_PostProcess:3'] as Float32Array)[0]!;
  const rows = (name: string, width: number) => [...(out[name] as Float32Array).subarray(0, count * width)];
  return [count, ...rows('TFLite_Detection_PostProcess', 4), ...rows('TFLite_Detection_PostProcess:1', 1), ...rows('TFLite_Detection_PostProcess:2', 1)];
}

describe('Edge TPU models of the test data on the real TensorFlow Lite library', () => {
  let libs: StandInLibraries;
  let images: Uint8Array[];
  before(async () => {
    libs = buildStandInEdgeTpu();
    process.env.FAKE_EDGETPU_DEVICES = devices.map((d) => `usb:${d.selector}`).join(',');
    images = await Promise.all(
      ['parrot.jpg', 'cat_720p.jpg', 'owl.jpg'].map(async (f) => new Uint8Array(await sharp(testDataPath(`images/${f}`)).resize(300, 300, { fit: 'fill' }).removeAlpha().raw().toBuffer())),
    );
  });
  after(() => {
    delete process.env.FAKE_EDGETPU_DEVICES;
  });
  const open = (file: string, device: EdgeTpuDeviceRef) =>
    loadEdgeTpuEngine(new Uint8Array(readFileSync(file)), { device, libraries: { edgetpu: [libs.edgetpu], tflite: [libs.tflite] } });

  it(`opens all ${edgeTpuFiles.length} with the tensor specs the codec reads`, async () => {
    assert.ok(edgeTpuFiles.length >= 9, `only ${edgeTpuFiles.length} Edge TPU files in the test data`);
    for (const file of edgeTpuFiles) {
      const engine = await open(file, devices[0]!);
      try {
        const specs = modelTensorSpecs(readModel(new Uint8Array(readFileSync(file))));
        assert.deepEqual({ inputs: engine.inputs, outputs: engine.outputs }, { inputs: specs.inputs, outputs: specs.outputs }, path.basename(file));
      } finally {
        await engine.dispose();
      }
    }
  });

  for (const n of [2, 4]) {
    it(`runs the SSD chain of ${n} through the runner as the segments run one after another`, async () => {
      const files = Array.from({ length: n }, (_, i) => testDataPath(`segments/${SSD}_segment_${i}_of_${n}_edgetpu.tflite`));
      // One after another, by hand: each segment's outputs feed the next by name.
      const engines: Engine[] = [];
      for (const [i, file] of files.entries()) engines.push(await open(file, devices[i]!));
      const expected: number[][] = [];
      try {
        for (const image of images) {
          let tensors: NamedTensors = { normalized_input_image_tensor: image };
          for (const engine of engines) tensors = { ...tensors, ...(await engine.invoke(tensors)) };
          expected.push(detections(tensors));
        }
      } finally {
        await Promise.all(engines.map((e) => e.dispose()));
      }
      assert.ok(expected.some((d) => d[0]! > 0), 'no image gave a detection: the comparison would be empty');

      const libraries = { edgetpu: [libs.edgetpu], tflite: [libs.tflite] };
      const runner = await PipelinedModelRunner.create(
        files.map((file, i) => [{ kind: 'edgetpu' as const, model: new Uint8Array(readFileSync(file)), device: devices[i]!, libraries }]),
      );
      try {
        const producer = (async () => {
          for (const image of images) await runner.push({ normalized_input_image_tensor: image });
        })();
        for (const want of expected) {
          const out = await runner.pop();
          assert.ok(out);
          assert.deepEqual(detections(out), want);
          runner.release(out);
        }
        await producer;
        assert.deepEqual(runner.stats().segments.map((s) => [s.devices, s.count]), files.map((_, i) => [[devices[i]!.id], images.length]));
      } finally {
        await runner.close();
      }
    });
  }

  it('a stand-in Edge TPU that hangs fails the runner as hung, naming its segment and device', async () => {
    const invokeLog = path.join(libs.dir, 'hang-invokes.log');
    process.env.FAKE_EDGETPU_INVOKE_LOG = invokeLog;
    const files = [0, 1].map((i) => testDataPath(`segments/${SSD}_segment_${i}_of_2_edgetpu.tflite`));
    const libraries = { edgetpu: [libs.edgetpu], tflite: [libs.tflite] };
    const runner = await PipelinedModelRunner.create(
      files.map((file, i) => [
        { kind: 'edgetpu' as const, model: new Uint8Array(readFileSync(file)), device: devices[i]!, libraries, ...(i === 1 && { delegateOptions: { 'StandIn.HangAfter': '1' } }) },
      ]),
      { hangTimeoutMs: 500 },
    );
    try {
      for (const image of images) await runner.push({ normalized_input_image_tensor: image });
      runner.release((await runner.pop())!);
      await assert.rejects(runner.pop(), (e: Error) => {
        assert.ok(e instanceof PipelineFailedError, String(e));
        assert.equal(e.device, devices[1]!.id);
        assert.match(e.message, /^pipeline failed: segment 1 on usb:\/sys\/bus\/usb\/devices\/2-2 did not answer within 500 ms \(hung\)$/);
        return true;
      });
    } finally {
      await runner.close().catch(() => {});
      // The stand-in's hung invoke returns once told to, so its thread does not outlive the test.
      appendFileSync(invokeLog, `release ${devices[1]!.selector}\n`);
      delete process.env.FAKE_EDGETPU_INVOKE_LOG;
    }
  });
});
