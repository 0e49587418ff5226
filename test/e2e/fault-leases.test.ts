/** The daemon's exclusive leases on the Edge TPUs it uses: per process, kept across reloads, released on stop. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ClassifierFactory } from '../../src/daemon/frames/classifier.js';
import { loadConfig } from '../../src/daemon/config/config-load.js';
import { Daemon } from '../../src/daemon/lifecycle/daemon.js';
import { ProcessLeases } from '../../src/daemon/lifecycle/device-leases.js';
import { createLogger } from '../../src/daemon/lifecycle/logger.js';
import { topicsFor } from '../../src/daemon/mqtt/topics.js';
import { DeviceBusyError, leaseHolder, lockFileFor } from '../../src/devices/lease.js';
import { testDataPath } from '../../src/testdata.js';
import { FakeClassifier, fakeJpeg } from '../helpers/fake-classifier.js';
import { holdLeaseInChild, killChild } from '../helpers/lease-holder.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { Observer, type Seen } from '../helpers/mqtt-observer.js';

const json = (s: Seen) => JSON.parse(s.payload.toString()) as Record<string, any>;
const TPU_A = 'usb:/sys/bus/usb/devices/7-1';
const TPU_B = 'pci:/dev/apex_7';

describe('device leases in the daemon', () => {
  let broker: Mosquitto;
  let dir: string;
  let leaseDir: string;
  before(async () => {
    broker = await Mosquitto.start();
    dir = await mkdtemp(path.join(tmpdir(), 'coral-pipe-fault-leases-'));
    leaseDir = path.join(dir, 'run');
  });
  after(async () => {
    await broker.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** The fake factory leases the config's device ids (as the real one does after placement) and reports them. */
  const factory: ClassifierFactory = async (config, _log, context) => {
    const ids = (config.devices as string[]).map(String);
    context?.claim?.(ids);
    return new FakeClassifier({ model: { name: config.model.name!, hash: 'h' }, segments: 1, devices: [ids] });
  };

  let n = 0;
  async function writeConfig(file: string, name: string, device: string): Promise<void> {
    await writeFile(
      file,
      [
        `node: lease-${process.pid}-${n}`,
        `mqtt: {url: "${broker.url}", topicPrefix: t${process.pid}, reconnectMinMs: 50}`,
        `model: {file: ${JSON.stringify(testDataPath('models/mobilenet_v2_1.0_224_quant.tflite'))}, name: ${name}}`,
        `devices: ["${device}"]`,
        `cameras: {a: lease/${process.pid}/a}`,
        '',
      ].join('\n'),
    );
  }

  it('holds the lease for the life of the process: reload onto the same device does not clash, a busy one is refused naming its holder, stop releases', async (t) => {
    n++;
    const file = path.join(dir, `reload${n}.yaml`);
    await writeConfig(file, 'alpha', TPU_A);
    const config = await loadConfig(file);
    const topics = topicsFor(config.mqtt.topicPrefix, config.node);
    const observer = await Observer.connect(broker.url, [`${config.mqtt.topicPrefix}/${config.node}/#`]);
    const daemon = await Daemon.start({ config, createClassifier: factory, log: createLogger({ level: 'silent' }), leaseDir });
    const other = await holdLeaseInChild(TPU_B, leaseDir);
    t.after(async () => {
      await killChild(other);
      await Promise.all([daemon.stop(), observer.close()]);
    });
    assert.equal(leaseHolder(TPU_A, { runtimeDir: leaseDir })?.pid, process.pid);
    assert.deepEqual(daemon.leasedDevices(), [TPU_A]);

    // A new pipeline on the same device: the process's lease carries over.
    await writeConfig(file, 'beta', TPU_A);
    assert.deepEqual(await daemon.reloadFile(), { ok: true, swappedModel: true });
    assert.deepEqual(daemon.leasedDevices(), [TPU_A]);

    // A device another process holds: the reload is refused naming that process, the old pipeline serves on.
    await writeConfig(file, 'gamma', TPU_B);
    const refused = await daemon.reloadFile();
    assert.equal(refused.ok, false);
    assert.match(refused.errors![0]!, new RegExp(`^new pipeline failed to build: device pci:/dev/apex_7 is leased by pid ${other.pid} since \\S+ \\(lock ${lockFileFor(TPU_B, leaseDir).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)$`));
    await observer.client.publishAsync(`lease/${process.pid}/a`, fakeJpeg(5));
    const result = json(await observer.next((s) => s.topic === topics.result('a')));
    assert.deepEqual([result.model.name, result.devices], ['beta', [[TPU_A]]]);
    assert.deepEqual(daemon.leasedDevices(), [TPU_A]);

    await daemon.stop();
    assert.equal(existsSync(lockFileFor(TPU_A, leaseDir)), false, 'lock left behind after stop');
    assert.equal(leaseHolder(TPU_B, { runtimeDir: leaseDir })?.pid, other.pid, "stop touched another process's lease");
  });

  it('refuses to start on a device busy in another process, naming the holder; starts once that process is gone', async (t) => {
    n++;
    const file = path.join(dir, `busy${n}.yaml`);
    await writeConfig(file, 'alpha', TPU_A);
    const config = await loadConfig(file);
    const other = await holdLeaseInChild(TPU_A, leaseDir);
    t.after(() => killChild(other));
    await assert.rejects(Daemon.start({ config, createClassifier: factory, log: createLogger({ level: 'silent' }), leaseDir }), (err: unknown) => {
      assert.ok(err instanceof DeviceBusyError);
      assert.equal(err.holder.pid, other.pid);
      assert.match(err.message, new RegExp(`^device ${TPU_A.replace(/[/.]/g, '\\$&')} is leased by pid ${other.pid} since `));
      return true;
    });
    await killChild(other);
    // The dead holder's lock is stale: reclaimed.
    const daemon = await Daemon.start({ config, createClassifier: factory, log: createLogger({ level: 'silent' }), leaseDir });
    assert.equal(leaseHolder(TPU_A, { runtimeDir: leaseDir })?.pid, process.pid);
    await daemon.stop();
    assert.equal(leaseHolder(TPU_A, { runtimeDir: leaseDir }), undefined);
  });

  it('never leases CPU devices', async () => {
    const runtimeDir = path.join(dir, 'cpu-only');
    const leases = new ProcessLeases({ runtimeDir });
    leases.claim(['cpu:0', 'cpu:1']);
    assert.deepEqual(leases.ids(), []);
    assert.equal(existsSync(runtimeDir), false);
    leases.claim(['cpu:0', TPU_B]);
    assert.deepEqual(leases.ids(), [TPU_B]);
    assert.deepEqual(await readdir(runtimeDir), [path.basename(lockFileFor(TPU_B, runtimeDir))]);
    leases.releaseAll();
    assert.deepEqual(await readdir(runtimeDir), []);
  });
});
