/**
 * The daemon's MQTT connection under the broker's security: TLS with a client certificate against a
 * mosquitto that requires one (and a clear refusal without it), and wrong credentials refused with a
 * clear error and retried with backoff rather than in a tight loop (counted by a proxy in between).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { Logger } from 'pino';
import { resolveConfig } from '../../src/daemon/config/config-load.js';
import { Daemon } from '../../src/daemon/lifecycle/daemon.js';
import { createLogger } from '../../src/daemon/lifecycle/logger.js';
import { MqttSession, type SessionOptions } from '../../src/daemon/mqtt/mqtt-session.js';
import { topicsFor } from '../../src/daemon/mqtt/topics.js';
import { testDataPath } from '../../src/testdata.js';
import { CountingProxy } from '../helpers/counting-proxy.js';
import { FakeClassifier, fakeJpeg } from '../helpers/fake-classifier.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { MutualTlsBroker } from '../helpers/mtls-broker.js';
import { Observer } from '../helpers/mqtt-observer.js';
import { until } from '../helpers/fault-tools.js';

interface LogLine {
  level: number;
  event?: string;
  err?: string;
  retryMs?: number;
  msg: string;
}

function capturingLogger(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  return { log: createLogger({ level: 'info', destination: { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) } }), lines };
}

/** A session as the daemon makes one, with the connection options given. */
function session(log: Logger, options: Partial<SessionOptions> & { url: string }): MqttSession {
  return new MqttSession({
    clientId: `security-${process.pid}-${Math.random().toString(16).slice(2)}`,
    keepalive: 30,
    availabilityTopic: `security/${process.pid}/availability`,
    subscriptions: [],
    reconnectMinMs: 50,
    reconnectMaxMs: 400,
    maxBufferedMessages: 1,
    log,
    onMessage: () => {},
    ...options,
  });
}


describe('MQTT over TLS with a client certificate', () => {
  it('connects and serves with the configured certificate and key; without them the handshake is refused, saying why', async (t) => {
    const broker = await MutualTlsBroker.start();
    t.after(() => broker.close());
    const { ca, cert, key } = broker.files;
    const text = [
      `node: mtls-${process.pid}`,
      `model: ${JSON.stringify(testDataPath('models/mobilenet_v1_0.25_128_quant.tflite'))}`,
      `cameras: {a: mtls/${process.pid}/a}`,
      'mqtt:',
      `  url: ${broker.url}`,
      `  tls: {ca: ${JSON.stringify(ca)}, cert: ${JSON.stringify(cert)}, key: ${JSON.stringify(key)}}`,
      '',
    ].join('\n');
    const config = await resolveConfig(text, path.join(broker.dir, 'c.yaml'));
    assert.deepEqual(config.secrets.cert, await readFile(cert));
    assert.deepEqual(config.secrets.key, await readFile(key));
    const topics = topicsFor(config.mqtt.topicPrefix, config.node);
    const daemon = await Daemon.start({ config, createClassifier: async () => new FakeClassifier(), log: createLogger({ level: 'silent' }) });
    t.after(() => daemon.stop());
    const pem = { ca: await readFile(ca), cert: await readFile(cert), key: await readFile(key) };
    const observer = await Observer.connect(broker.url, [`${config.mqtt.topicPrefix}/${config.node}/#`], pem);
    t.after(() => observer.close());
    await observer.nextText(topics.availability, 'online');
    await observer.client.publishAsync(`mtls/${process.pid}/a`, fakeJpeg(42));
    const result = JSON.parse((await observer.next((s) => s.topic === topics.result('a'))).payload.toString()) as { top: { index: number }[] };
    assert.equal(result.top[0]!.index, 42);

    // Trusting the CA is not enough: the broker wants a certificate from the client.
    const { log, lines } = capturingLogger();
    const bare = session(log, { url: broker.url, ca: pem.ca });
    let connected = false;
    void bare.start().then(() => (connected = true));
    t.after(() => bare.stop());
    await until(() => lines.some((l) => l.event === 'mqtt-error'), 'the broker to refuse the handshake without a client certificate');
    // And the retry refused too (each attempt ends with mqtt-disconnected), not 300 ms gone by.
    await until(() => lines.filter((l) => l.event === 'mqtt-disconnected').length >= 2, 'a second attempt without a client certificate to be refused');
    await bare.stop();
    assert.equal(connected, false);
    const errors = lines.filter((l) => l.event === 'mqtt-error').map((l) => l.err ?? '');
    assert.ok(errors.length > 0, JSON.stringify(lines));
    console.log(`without a client certificate: ${errors[0]}`);
    // OpenSSL's alert for TLS 1.3 "certificate required" (or the handshake failure of TLS 1.2).
    assert.match(errors[0]!, /certificate required|handshake failure|alert/i);
  });
});

describe('wrong MQTT credentials', () => {
  it('are refused with a clear error, and retried with doubling backoff, not in a tight loop', async (t) => {
    const broker = await Mosquitto.start({ users: { camera: 'right-one' } });
    t.after(() => broker.close());
    const proxy = await CountingProxy.start(broker.port);
    t.after(() => proxy.close());
    const { log, lines } = capturingLogger();
    const [min, max] = [200, 800];
    const wrong = session(log, { url: `mqtt://127.0.0.1:${proxy.port}`, username: 'camera', password: 'wrong', reconnectMinMs: min, reconnectMaxMs: max });
    t.after(() => wrong.stop());
    let connected = false;
    void wrong.start().then(() => (connected = true));
    // Six attempts refused (each ends with mqtt-disconnected): at 0, 200, 600, 1400, 2200 and 3000 ms
    // with the backoff, some 3 s; waited for as such, not as 3 s of sleep that a loaded machine may
    // fill with fewer attempts.
    await until(() => lines.filter((l) => l.event === 'mqtt-disconnected').length >= 6, 'six logins with wrong credentials to be refused');
    await wrong.stop();
    assert.equal(connected, false);

    const at = proxy.connections;
    const gaps = at.slice(1).map((x, i) => Math.round(x - at[i]!));
    console.log(`wrong credentials: ${at.length} connection attempts in ${((at.at(-1)! - at[0]!) / 1000).toFixed(1)} s, gaps ${gaps.join(', ')} ms`);
    // About six; a client without backoff would make hundreds (and fail the gaps below).
    assert.ok(at.length >= 3 && at.length <= 8, `${at.length} attempts`);
    // Timers never fire early: each gap is at least its backoff (less a little for the proxy's own timing).
    for (const [i, gap] of gaps.entries()) assert.ok(gap >= Math.min(max, min * 2 ** i) * 0.9, `gap ${i} of ${gap} ms; gaps ${gaps.join(', ')}`);

    const refusals = lines.filter((l) => l.event === 'mqtt-error').map((l) => l.err ?? '');
    assert.ok(refusals.length >= at.length - 1, JSON.stringify(lines));
    assert.match(refusals[0]!, /bad user name or password|not authorized/i);
    const retries = lines.filter((l) => l.event === 'mqtt-disconnected').map((l) => l.retryMs);
    assert.deepEqual(retries.slice(0, 3), [min, 2 * min, max]);
  });
});
