import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { cpuDevices } from '../../src/devices/device.js';
import { createLogger } from '../../src/daemon/lifecycle/logger.js';
import { createPipelineClassifier } from '../../src/daemon/frames/pipeline-classifier.js';
import { DevicePlacementError, needsEnumeration, placeSegments } from '../../src/devices/segment-placement.js';
import { testDataPath } from '../../src/testdata.js';
import { testDaemonConfig } from '../helpers/daemon-config.js';
import { readyUsbTpu } from '../helpers/fake-devices.js';

const usb = readyUsbTpu;

describe('segment placement', () => {
  const present = [usb(1), usb(2), ...cpuDevices(2)];

  it('places an Edge TPU segment on an Edge TPU with auto, and by stable id or bus index when named', async () => {
    const model = new Uint8Array(await readFile(testDataPath('models/split_concat_edgetpu.tflite')));
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
