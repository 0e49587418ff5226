import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, formatProblem } from '../../../src/daemon/config/config-error.js';
import { resolveConfig } from '../../../src/daemon/config/config-load.js';
import { checkModel } from '../../../src/daemon/config/model-check.js';
import { cpuDevices, type Device } from '../../../src/devices/device.js';
import { testDataPath } from '../../../src/testdata.js';
import { readyUsbTpu } from '../../helpers/fake-devices.js';

const models = (name: string) => JSON.stringify(testDataPath(`models/${name}`));
const ssd = (i: number) => JSON.stringify(testDataPath(`segments/ssd_mobilenet_v1_coco_quant_postprocess_segment_${i}_of_2_edgetpu.tflite`));
const file = path.join(tmpdir(), 'c.yaml');

/** checkModel of a config whose lines after `cameras` are `lines`, on the devices given. */
async function check(lines: string[], devices: readonly Device[]) {
  return checkModel(await resolveConfig(['cameras: {a: t}', ...lines, ''].join('\n'), file), { devices });
}

/** The problems checkModel refuses `lines` with, formatted as check-config prints them. */
async function problems(lines: string[], devices: readonly Device[] = cpuDevices(2)): Promise<string[]> {
  try {
    await check(lines, devices);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems.map(formatProblem);
  }
  assert.fail(`accepted: ${lines.join('\n')}`);
}

describe('model check', () => {
  it('accepts an Edge TPU model where an Edge TPU is present (found as the daemon finds devices), and gives input, output, classes and fitted labels', async () => {
    const checked = await check(
      ['model:', `  file: ${models('mobilenet_v1_0.25_128_quant_edgetpu.tflite')}`, `  labels: ${JSON.stringify(testDataPath('labels/imagenet_labels.txt'))}`],
      [readyUsbTpu(1), ...cpuDevices(1)],
    );
    assert.deepEqual([checked.input.shape, checked.output.shape, checked.classes], [[1, 128, 128, 3], [1, 1001], 1001]);
    assert.equal(checked.labels!.labels.get(89), 'macaw');
    assert.equal(checked.labels!.note, undefined);
    assert.equal(checked.files.length, 1);
  });

  it('refuses a CPU model placed on an Edge TPU at the devices line', async () => {
    const found = await problems([`model: ${models('mobilenet_v2_1.0_224_quant.tflite')}`, 'devices: [usb:0]'], [readyUsbTpu(1), ...cpuDevices(1)]);
    assert.equal(found.length, 1, found.join('\n'));
    assert.match(found[0]!, /^.*c\.yaml:3:\d+: devices: .*segment 0 \(mobilenet_v2_1\.0_224_quant\.tflite\) is not Edge TPU compiled and cannot run on usb:/);
  });

  it('refuses custom ops the CPU engine cannot run, and an input that is not an image, naming the model file', async () => {
    const found = await problems([`model: ${models('model_invoking_error.tflite')}`]);
    assert.equal(found.length, 2, found.join('\n'));
    assert.match(found[0]!, /c\.yaml:2:\d+: model\.file: .*model_invoking_error\.tflite: cannot serve as an image classifier: input "" has shape \[1, 3\], not an RGB image/);
    assert.match(found[1]!, /c\.yaml:2:\d+: model\.file: .*model_invoking_error\.tflite: the model holds custom op "fake-op-double", which the CPU engine cannot run/);
  });

  it('refuses an Edge TPU model to be cut into segments, at model.segments', async () => {
    const found = await problems(['model:', `  file: ${models('mobilenet_v1_0.25_128_quant_edgetpu.tflite')}`, '  segments: 2'], [readyUsbTpu(1), readyUsbTpu(2)]);
    assert.equal(found.length, 1, found.join('\n'));
    assert.match(found[0]!, /c\.yaml:4:\d+: model\.segments: .*cannot be cut into 2 segments: the model is already compiled for the Edge TPU/);
  });

  it('model.layout with devices auto: each segment needs as many Edge TPUs as its replicas; a cut it cannot make is refused at model.layout', async () => {
    const whole = ['model:', `  file: ${models('mobilenet_v1_0.25_128_quant_edgetpu.tflite')}`, '  layout: whole model x 2'];
    const checked = await check(whole, [readyUsbTpu(1), readyUsbTpu(2)]);
    assert.deepEqual(checked.input.shape, [1, 128, 128, 3]);
    const short = await problems(whole, [readyUsbTpu(1), ...cpuDevices(1)]);
    assert.equal(short.length, 1, short.join('\n'));
    assert.match(short[0]!, /c\.yaml:3:\d+: model\.file: .*needs an Edge TPU, but only 1 usable Edge TPU\(s\) are present for the 2 the Edge TPU segments need/);
    const cut = await problems(['model:', `  file: ${models('mobilenet_v1_0.25_128_quant_edgetpu.tflite')}`, '  layout: 2 segments (params)'], [readyUsbTpu(1), readyUsbTpu(2)]);
    assert.match(cut[0]!, /c\.yaml:4:\d+: model\.layout: .*cannot be cut into 2 segments/);
  });

  it('checks segment files as the chain they make: a detector\'s outputs are not class scores', async () => {
    const found = await problems(['model:', `  segmentFiles: [${ssd(0)}, ${ssd(1)}]`], [readyUsbTpu(1), readyUsbTpu(2)]);
    assert.equal(found.length, 1, found.join('\n'));
    assert.match(found[0]!, /c\.yaml:3:\d+: model\.segmentFiles: the segment files: cannot serve as an image classifier: output "TFLite_Detection_PostProcess" has shape \[1, 20, 4\]/);
  });

  it('names the segment file that is not a model, at its own line', async () => {
    const found = await problems(['model:', '  segmentFiles:', `    - ${ssd(0)}`, `    - ${JSON.stringify(testDataPath('images/owl.jpg'))}`], [readyUsbTpu(1), readyUsbTpu(2)]);
    assert.equal(found.length, 1, found.join('\n'));
    assert.match(found[0]!, /c\.yaml:5:\d+: model\.segmentFiles\[1\]: .*owl\.jpg: invalid TFLite model at byte 4/);
  });
});
