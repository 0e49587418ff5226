/** Stopping while a reload is half-way: nothing may be left holding the process open. */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../src/daemon/config-load.js';
import { Daemon } from '../src/daemon/daemon.js';
import { createLogger } from '../src/daemon/logger.js';
import { testDataPath } from '../src/testdata.js';
import { FakeClassifier } from './helpers/fake-classifier.js';
import { Mosquitto } from './helpers/mosquitto.js';

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('stop during a reload', () => {
  let broker: Mosquitto;
  let dir: string;
  before(async () => {
    broker = await Mosquitto.start();
    dir = await mkdtemp(path.join(tmpdir(), 'coral-pipe-fault-stop-'));
  });
  after(async () => {
    await broker.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('leaves no timer behind when SIGTERM lands while a reload reads the config (the process could not exit)', async () => {
    const file = path.join(dir, 'stop.yaml');
    await writeFile(
      file,
      [
        `node: stop-${process.pid}`,
        `mqtt: {url: "${broker.url}", topicPrefix: t${process.pid}}`,
        `model: ${JSON.stringify(testDataPath('models/mobilenet_v2_1.0_224_quant.tflite'))}`,
        `cameras: {a: stop/${process.pid}/a}`,
        '',
      ].join('\n'),
    );
    const config = await loadConfig(file);
    const idle = timers();
    const daemon = await Daemon.start({ config, createClassifier: async () => new FakeClassifier(), log: createLogger({ level: 'silent' }) });
    // The reload is past its "stopping?" check and inside loadConfig when stop() begins.
    const reload = daemon.reloadFile();
    await new Promise((r) => setImmediate(r));
    await Promise.all([daemon.stop(), reload]);
    assert.equal(timers(), idle, `timers left after stop: ${process.getActiveResourcesInfo().join(', ')}`);
  });
});
