// Which executor each segment needs, on the real test models and compiler-made segments.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { cpuDevices, type Device } from '../../src/devices/device.js';
import { assignDevices, DeviceMismatchError, engineSpecFor, executorKindFor } from '../../src/devices/engine-choice.js';
import { coralUsbDevices } from '../../src/devices/usb-probe.js';
import { testDataPath } from '../../src/testdata.js';

const load = (p: string) => new Uint8Array(readFileSync(testDataPath(p)));
const tpuSegment = load('segments/ssd_mobilenet_v1_coco_quant_postprocess_segment_0_of_2_edgetpu.tflite');
const tpuModel = load('models/mobilenet_v1_0.25_128_quant_edgetpu.tflite');
const cpuModel = load('models/mobilenet_v1_0.25_128_quant.tflite');
const [usb0, usb1] = coralUsbDevices([
  { vendorId: 0x18d1, productId: 0x9302, bus: 2, ports: [1], speed: 'super' },
  { vendorId: 0x18d1, productId: 0x9302, bus: 2, ports: [2], speed: 'super' },
]) as [Device, Device];
const [cpu0] = cpuDevices(1) as [Device];

test('edgetpu-custom-op means Edge TPU; anything else CPU', () => {
  assert.equal(executorKindFor(tpuSegment), 'edgetpu');
  assert.equal(executorKindFor(tpuModel), 'edgetpu');
  assert.equal(executorKindFor(cpuModel), 'cpu');
});

test('a mixed pipeline: Edge TPU segments on their own TPUs, a CPU segment on a CPU device', () => {
  const segments = [{ name: 'tpu-a', model: tpuSegment }, { name: 'tpu-b', model: tpuModel }, { name: 'post', model: cpuModel }];
  const devices = assignDevices(segments, [usb0, usb1, cpu0]).map(([d]) => d!);
  assert.deepEqual(devices.map((d) => d.id), [usb0.id, usb1.id, cpu0.id]);
  const specs = segments.map((s, i) => engineSpecFor(s.name, s.model, devices[i]!));
  assert.deepEqual(specs.map((s) => s.kind), ['edgetpu', 'edgetpu', 'cpu']);
  assert.deepEqual(specs[0]!.device, { id: usb0.id, type: 'usb', selector: '/sys/bus/usb/devices/2-1' });
  assert.equal(specs[2]!.device, 'cpu:0');
});

test('mismatches are refused with the segment and device named', () => {
  assert.throws(() => engineSpecFor('seg0', tpuSegment, cpu0), (e: unknown) =>
    e instanceof DeviceMismatchError && e.segment === 'seg0' && e.device === 'cpu:0' && /Edge TPU compiled.*cannot run on cpu:0/.test(e.message));
  assert.throws(() => engineSpecFor('seg1', cpuModel, usb0), /seg1 is not Edge TPU compiled and cannot run on usb:/);
  const sick: Device = { ...usb0, state: 'unhealthy', health: { problems: ['driver status is DEAD, not ALIVE'] } };
  assert.throws(() => engineSpecFor('seg2', tpuModel, sick), /is unhealthy: driver status is DEAD/);
  assert.throws(() => assignDevices([{ name: 'a', model: tpuModel }, { name: 'b', model: tpuModel }], [usb0, cpu0]), /segment b needs an Edge TPU, but only 1 usable/);
  assert.throws(() => assignDevices([{ name: 'a', model: tpuModel }], [usb0, cpu0], [2]), /segment a needs an Edge TPU, but only 1 usable Edge TPU\(s\) are present for the 2 the Edge TPU segments need/);
});

test('auto placement with replicas: as many Edge TPUs or CPU devices per segment as its replica count', () => {
  const segments = [{ name: 'tpu', model: tpuModel }, { name: 'post', model: cpuModel }];
  const placed = assignDevices(segments, [usb0, usb1, cpu0], [2, 3]);
  assert.deepEqual(placed.map((ds) => ds.map((d) => d.id)), [[usb0.id, usb1.id], [cpu0.id, cpu0.id, cpu0.id]]);
});
