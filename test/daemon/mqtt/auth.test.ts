/** The daemon's connection options against a mosquitto that wants a password, and one that speaks only TLS. */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ClassifierFactory } from '../../../src/daemon/frames/classifier.js';
import { resolveConfig } from '../../../src/daemon/config/config-load.js';
import { Daemon } from '../../../src/daemon/lifecycle/daemon.js';
import { createLogger } from '../../../src/daemon/lifecycle/logger.js';
import { MqttSession } from '../../../src/daemon/mqtt/mqtt-session.js';
import { topicsFor } from '../../../src/daemon/mqtt/topics.js';
import { testDataPath } from '../../../src/testdata.js';
import { FakeClassifier } from '../../helpers/fake-classifier.js';
import { Mosquitto } from '../../helpers/mosquitto.js';
import { Observer } from '../../helpers/mqtt-observer.js';
import { memoryLog, until } from '../../helpers/fault-tools.js';

const log = createLogger({ level: 'silent' });
const fake: ClassifierFactory = async () => new FakeClassifier();

describe('MQTT authentication and TLS', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'coral-pipe-auth-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  async function config(mqttLines: string[]): Promise<Awaited<ReturnType<typeof resolveConfig>>> {
    const text = [
      `node: auth-${process.pid}`,
      `model: ${JSON.stringify(testDataPath('models/mobilenet_v2_1.0_224_quant.tflite'))}`,
      'cameras: {a: auth/a}',
      'mqtt:',
      ...mqttLines.map((l) => `  ${l}`),
      '  reconnectMinMs: 50',
      '',
    ].join('\n');
    return resolveConfig(text, path.join(dir, 'c.yaml'));
  }

  it('logs in with a user and a password file; a wrong password never gets online', async (t) => {
    const broker = await Mosquitto.start({ users: { camera: 'right-one' } });
    t.after(() => broker.close());
    await writeFile(path.join(dir, 'pw'), 'right-one\n');
    const c = await config([`url: ${broker.url}`, 'username: camera', 'passwordFile: pw']);
    const daemon = await Daemon.start({ config: c, createClassifier: fake, log });
    t.after(() => daemon.stop());
    const observer = await Observer.connect(broker.url, [topicsFor(c.mqtt.topicPrefix, c.node).availability], { username: 'camera', password: 'right-one' });
    t.after(() => observer.close());
    await observer.nextText(topicsFor(c.mqtt.topicPrefix, c.node).availability, 'online');

    const { log: wrongLog, entries } = memoryLog();
    const wrong = new MqttSession({
      url: broker.url, clientId: `wrong-${process.pid}`, username: 'camera', password: 'wrong', keepalive: 30,
      availabilityTopic: 'wrong/availability', subscriptions: [], reconnectMinMs: 50, reconnectMaxMs: 100, maxBufferedMessages: 1, log: wrongLog, onMessage: () => {},
    });
    t.after(() => wrong.stop());
    let connected = false;
    void wrong.start().then(() => (connected = true));
    // Three attempts refused (each ends the connection: mqtt-disconnected), not 400 ms gone by.
    await until(() => entries.filter((e) => e.event === 'mqtt-disconnected').length >= 3, 'three logins with the wrong password to be refused');
    assert.equal(connected, false);
    assert.equal(wrong.stats().connected, false);
    await wrong.stop();
  });

  it('connects over TLS, trusting the configured CA file', async (t) => {
    const broker = await Mosquitto.start({ tls: true });
    t.after(() => broker.close());
    const c = await config([`url: ${broker.url}`, `tls: {ca: ${JSON.stringify(broker.caFile)}}`]);
    assert.ok(c.secrets.ca && c.secrets.ca.length > 0);
    const daemon = await Daemon.start({ config: c, createClassifier: fake, log });
    t.after(() => daemon.stop());
    const observer = await Observer.connect(broker.url, [topicsFor(c.mqtt.topicPrefix, c.node).availability], { ca: c.secrets.ca });
    t.after(() => observer.close());
    await observer.nextText(topicsFor(c.mqtt.topicPrefix, c.node).availability, 'online');
  });
});
