/** Where each segment runs (devices/placement.ts): its executor, its devices, what the runner gets. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it, test } from 'node:test';
import { cpuDevices, type Device } from '../../src/devices/device.js';
import { createLogger } from '../../src/daemon/lifecycle/logger.js';
import { createPipelineClassifier } from '../../src/daemon/frames/pipeline-classifier.js';
import { assignDevices, DeviceMismatchError, DevicePlacementError, engineSpecFor, executorKindFor, needsEnumeration, placeSegments, runnerInput, type SegmentEngineSpec } from '../../src/devices/placement.js';
import { coralUsbDevices } from '../../src/devices/usb-probe.js';
import { testDataPath } from '../../src/testdata.js';
import { testDaemonConfig } from '../helpers/daemon-config.js';
import { readyUsbTpu } from '../helpers/fake-devices.js';

const load = (p: string) => new Uint8Array(readFileSync(testDataPath(p)));
const usb = readyUsbTpu;

// Which executor each segment needs, on the real test models and compiler-made segments.
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

describe('segment placement', () => {
  const present = [usb(1), usb(2), ...cpuDevices(2)];

  it('places an Edge TPU segment on an Edge TPU with auto, and by stable id or bus index when named', async () => {
    const model = load('models/split_concat_edgetpu.tflite');
    const segments = [{ name: 'segment 0', model }];
    assert.deepEqual(placeSegments('auto', segments, present).map((r) => r.map((d) => d.id)), [[present[0]!.id]]);
    assert.deepEqual(placeSegments(['usb:1'], segments, present)[0]![0], present[1]);
    assert.deepEqual(placeSegments([present[1]!.id], segments, present)[0]![0], present[1]);
    assert.deepEqual(placeSegments([['usb:0', 'usb:1']], segments, present)[0]!.map((d) => d.id), [present[0]!.id, present[1]!.id]);
    assert.throws(() => placeSegments(['usb:2'], segments, present), (err: unknown) => {
      assert.ok(err instanceof DevicePlacementError);
      assert.match(err.message, /segment 0: device "usb:2" is not present \(Edge TPUs present: usb:\/sys\/bus\/usb\/devices\/2-1, usb:\/sys\/bus\/usb\/devices\/2-2\)/);
      return true;
    });
  });

  it('needs the device list only for auto or non-CPU ids', () => {
    assert.equal(needsEnumeration('auto'), true);
    assert.equal(needsEnumeration(['cpu:0', ['cpu:1', 'cpu:2']]), false);
    assert.equal(needsEnumeration(['cpu:0', 'usb:0']), true);
  });

  it('refuses to build an Edge TPU model where no Edge TPU is present, saying so', async () => {
    const config = await testDaemonConfig('mqtt://127.0.0.1:1', 'cameras: {a: t}');
    const edgetpu = { ...config, model: { file: testDataPath('models/mobilenet_v1_0.25_128_quant_edgetpu.tflite') } };
    await assert.rejects(createPipelineClassifier(edgetpu, createLogger({ level: 'silent' })), /needs an Edge TPU, but only 0 usable Edge TPU/);
    const onUsb = { ...config, devices: ['usb:0'] };
    await assert.rejects(createPipelineClassifier(onUsb, createLogger({ level: 'silent' })), /device "usb:0" is not present/);
  });
});

describe('runner input', () => {
  const cpuModel = load('models/mobilenet_v1_0.25_128_quant.tflite');
  const tpuModel = load('models/mobilenet_v1_0.25_128_quant_edgetpu.tflite');
  const noDevices = () => Promise.reject(new Error('enumerated although no placement needed it'));

  it('CPU segments keep their sources, with the CPU ids given or the replicas for the runner to place', async () => {
    const segments = [{ name: 'segment 0', model: cpuModel, source: 'a.tflite' }, { name: 'segment 1', model: cpuModel }];
    const byId = await runnerInput(segments, ['cpu:0', ['cpu:1', 'litert:0']], { enumerate: noDevices });
    assert.deepEqual(byId, { segments: ['a.tflite', cpuModel], devices: [['cpu:0'], ['cpu:1', 'litert:0']], edgeTpus: [] });
    const auto = await runnerInput(segments, 'auto', { enumerate: noDevices }, [2, 1]);
    assert.deepEqual(auto, { segments: ['a.tflite', cpuModel], replicas: [2, 1], edgeTpus: [] });
  });

  it('Edge TPU segments get one engine spec per device placed on, and those Edge TPUs are claimed', async () => {
    const present = [usb(1), usb(2), ...cpuDevices(1)];
    const claimed: string[][] = [];
    const input = await runnerInput(
      [{ name: 'segment 0', model: tpuModel }, { name: 'segment 1', model: cpuModel }],
      'auto',
      { devices: present, claim: (ids) => claimed.push([...ids]) },
      [2, 1],
    );
    assert.deepEqual(input.edgeTpus.map((d) => d.id), [present[0]!.id, present[1]!.id]);
    assert.deepEqual(claimed, [[present[0]!.id, present[1]!.id]]);
    const [tpu, cpu] = input.segments;
    assert.ok(Array.isArray(tpu) && Array.isArray(cpu), 'one engine spec list per segment');
    assert.deepEqual(tpu.map((s: SegmentEngineSpec) => s.kind), ['edgetpu', 'edgetpu']);
    assert.deepEqual(cpu.map((s: SegmentEngineSpec) => [s.kind, s.device]), [['cpu', 'cpu:0']]);
  });

  it('claims nothing when placement fails', async () => {
    const claimed: string[][] = [];
    await assert.rejects(
      runnerInput([{ name: 'segment 0', model: tpuModel }], ['usb:3'], { devices: [usb(1)], claim: (ids) => claimed.push([...ids]) }),
      (err: unknown) => err instanceof DevicePlacementError && /segment 0: device "usb:3" is not present/.test(err.message),
    );
    assert.deepEqual(claimed, []);
  });
});
