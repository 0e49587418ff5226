/**
 * Fault injection: Edge TPUs unplugged and plugged back (scripted enumerations through a real
 * DeviceWatcher): the daemon rebuilds on what remains, or says plainly that the config cannot be served.
 */
import assert from 'node:assert/strict';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { ClassifierFactory } from '../../src/daemon/frames/classifier.js';
import { Daemon } from '../../src/daemon/lifecycle/daemon.js';
import { topicsFor } from '../../src/daemon/mqtt/topics.js';
import { cpuDevices, isEdgeTpu, type Device } from '../../src/devices/device.js';
import { DeviceWatcher } from '../../src/devices/hotplug.js';
import { leaseHolder } from '../../src/devices/lease.js';
import { placeSegments } from '../../src/devices/placement.js';
import { testDataPath } from '../../src/testdata.js';
import { testDaemonConfig } from '../helpers/daemon-config.js';
import { FakeClassifier, fakeJpeg } from '../helpers/fake-classifier.js';
import { memoryLog, recordingNotifier } from '../helpers/fault-tools.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { Observer, type Seen } from '../helpers/mqtt-observer.js';
import { readyUsbTpu } from '../helpers/fake-devices.js';

const json = (s: Seen) => JSON.parse(s.payload.toString()) as Record<string, any>;

const usb = readyUsbTpu;

describe('device removed (fake hot-plug)', () => {
  let broker: Mosquitto;
  let leaseDir: string;
  let edgeTpuModel: Uint8Array;
  before(async () => {
    broker = await Mosquitto.start();
    leaseDir = await mkdtemp(path.join(tmpdir(), 'coral-pipe-fault-leases-'));
    edgeTpuModel = new Uint8Array(await readFile(testDataPath('models/mobilenet_v1_0.25_128_quant_edgetpu.tflite')));
  });
  after(async () => {
    await broker.close();
    await rm(leaseDir, { recursive: true, force: true });
  });

  /**
   * A daemon over a scripted machine: `present` is what the next scan finds. The factory places the
   * (Edge TPU compiled) model with the real placement code on the devices the daemon hands it, leases
   * them, and serves with a fake classifier that reports those devices.
   */
  async function setup(t: TestContext, devicesYaml: string) {
    const present = { devices: [usb(1), usb(2), ...cpuDevices(2)] };
    const watcher = new DeviceWatcher({ enumerate: async () => ({ devices: present.devices, problems: [] }), pollIntervalMs: 0, firmwareWindowMs: 0 });
    const builds: string[][] = [];
    const factory: ClassifierFactory = async (config, _log, context) => {
      assert.ok(context?.devices, 'the daemon handed no device list to the factory');
      const placed = placeSegments(config.devices, [{ name: 'segment 0', model: edgeTpuModel }], context.devices);
      context.claim?.(placed.flat().filter(isEdgeTpu).map((d) => d.id));
      const ids = placed.map((replicas) => replicas.map((d) => d.id));
      builds.push(ids.flat());
      return new FakeClassifier({ model: { name: 'tpu', hash: 'h' }, segments: 1, devices: ids });
    };
    const p = process.pid;
    const config = await testDaemonConfig(broker.url, `cameras: {a: dev/${p}/a}\n${devicesYaml}`);
    const topics = topicsFor(config.mqtt.topicPrefix, config.node);
    const observer = await Observer.connect(broker.url, [`${config.mqtt.topicPrefix}/${config.node}/#`]);
    const { log, entries } = memoryLog();
    const notifier = recordingNotifier();
    const daemon = await Daemon.start({
      config,
      createClassifier: factory,
      log,
      notifier,
      deviceWatcher: watcher,
      leaseDir,
      recovery: { minDelayMs: 20, maxDelayMs: 40, fastAttempts: 2, slowDelayMs: 60_000 },
    });
    t.after(() => Promise.all([daemon.stop(), observer.close()]));
    /** Takes the devices away and waits for the watcher to report them removed (after its firmware window). */
    const unplug = async (...ports: number[]) => {
      const ids = new Set(ports.map((port) => usb(port).id));
      const gone = new Promise<void>((resolve) => {
        const onRemoved = (d: Device) => {
          ids.delete(d.id);
          if (ids.size > 0) return;
          watcher.off('removed', onRemoved);
          resolve();
        };
        watcher.on('removed', onRemoved);
      });
      present.devices = present.devices.filter((d) => !ports.some((port) => d.id === usb(port).id));
      await watcher.rescan();
      await gone;
    };
    const plug = async (port: number) => {
      present.devices = [usb(port), ...present.devices];
      await watcher.rescan();
    };
    const nextEvent = (name: string, from = 0) => observer.next((s) => s.topic === topics.events && json(s).event === name, 10_000, from).then(json);
    const answer = async (index: number) => {
      const from = observer.seen.length;
      await observer.client.publishAsync(`dev/${p}/a`, fakeJpeg(index));
      return json(await observer.next((s) => s.topic === topics.result('a') && json(s).top[0].index === index, 10_000, from));
    };
    return { daemon, observer, topics, entries, notifier, builds, unplug, plug, nextEvent, answer };
  }

  it('devices: auto — rebuilt on the Edge TPU that remains; with none left it cannot serve; plugged back, it serves again', async (t) => {
    const s = await setup(t, '');
    assert.deepEqual(s.builds, [[usb(1).id]]);
    assert.deepEqual((await s.answer(1)).devices, [[usb(1).id]]);
    assert.deepEqual(s.daemon.leasedDevices(), [usb(1).id]);

    // A device the pipeline does not use going away changes nothing.
    await s.unplug(2);
    assert.ok(s.entries.some((e) => e.event === 'device-removed' && e.device === usb(2).id && e.inUse === false));
    await s.plug(2);

    let from = s.observer.seen.length;
    await s.unplug(1);
    const removed = await s.nextEvent('device-removed', from);
    assert.equal(removed.device, usb(1).id);
    const failed = await s.nextEvent('pipeline-failed', from);
    assert.match(failed.error, /segment 0 on usb:\/sys\/bus\/usb\/devices\/2-1 was removed/);
    const rebuilt = await s.nextEvent('pipeline-rebuilt', from);
    assert.deepEqual(rebuilt.devices, [[usb(2).id]]);
    assert.deepEqual((await s.answer(2)).devices, [[usb(2).id]]);
    // Leases are the process's: the one on the device that went away is still held (it may come back).
    assert.deepEqual(s.daemon.leasedDevices().sort(), [usb(1).id, usb(2).id].sort());

    from = s.observer.seen.length;
    await s.unplug(2);
    const cannot = await s.nextEvent('cannot-serve', from);
    assert.match(cannot.error, /^segment 0 needs an Edge TPU, but only 0 usable Edge TPU\(s\) are present/);
    assert.ok(s.notifier.statuses.some((l) => l.startsWith('cannot serve the config: segment 0 needs an Edge TPU')));
    const status = json(await s.observer.next((m) => m.topic === s.topics.status && json(m).state === 'cannot-serve', 10_000, from));
    assert.match(status.rebuildError, /needs an Edge TPU/);

    // The slow retry is a minute away: a device coming back triggers a rebuild at once.
    from = s.observer.seen.length;
    await s.plug(1);
    const back = await s.nextEvent('pipeline-rebuilt', from);
    assert.deepEqual(back.devices, [[usb(1).id]]);
    assert.deepEqual((await s.answer(3)).devices, [[usb(1).id]]);
  });

  it('a named device that vanishes: says plainly that the config cannot be served, naming the device', async (t) => {
    const s = await setup(t, `devices: ["${usb(2).id}"]`);
    assert.deepEqual(s.builds, [[usb(2).id]]);
    await s.unplug(2);
    const cannot = await s.nextEvent('cannot-serve');
    assert.match(cannot.error, /^segment 0: device "usb:\/sys\/bus\/usb\/devices\/2-2" is not present \(Edge TPUs present: usb:\/sys\/bus\/usb\/devices\/2-1\)$/);
    assert.ok(s.entries.some((e) => e.event === 'cannot-serve' && typeof e.msg === 'string' && e.msg.startsWith('cannot serve the config: segment 0: device')));
    await s.plug(2);
    assert.deepEqual((await s.nextEvent('pipeline-rebuilt')).devices, [[usb(2).id]]);
    assert.ok(leaseHolder(usb(2).id, { runtimeDir: leaseDir }));
  });
});
