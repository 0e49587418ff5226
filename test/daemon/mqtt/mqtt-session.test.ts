import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Aedes } from 'aedes';
import { createLogger } from '../../../src/daemon/lifecycle/logger.js';
import { MqttSession, type IncomingMessage, type SessionOptions } from '../../../src/daemon/mqtt/mqtt-session.js';
import { CountingProxy } from '../../helpers/counting-proxy.js';
import { Mosquitto } from '../../helpers/mosquitto.js';
import { Observer } from '../../helpers/mqtt-observer.js';
import { memoryLog, until as waitUntil } from '../../helpers/fault-tools.js';
import { helperScript } from '../../helpers/cli.js';

const silent = createLogger({ level: 'silent' });
let ids = 0;

function sessionOptions(url: string, over: Partial<SessionOptions> = {}): SessionOptions {
  return {
    url,
    clientId: `session-test-${process.pid}-${++ids}`,
    keepalive: 30,
    availabilityTopic: `t${ids}/availability`,
    subscriptions: [],
    reconnectMinMs: 50,
    reconnectMaxMs: 400,
    maxBufferedMessages: 10,
    log: silent,
    onMessage: () => {},
    ...over,
  };
}

const until = (condition: () => boolean, what: string) => waitUntil(condition, what, 10_000);

describe('MQTT session against mosquitto', () => {
  let broker: Mosquitto;
  before(async () => {
    broker = await Mosquitto.start();
  });
  after(() => broker.close());

  it('publishes retained state, then online; stopped on a clean stop', async (t) => {
    const options = sessionOptions(broker.url);
    const session = new MqttSession(options);
    t.after(() => session.stop());
    session.publishRetained({ topic: 'st/status', payload: '{"model":"m"}', qos: 1 });
    await session.start();
    assert.equal(session.stats().protocolVersion, 5);
    // A late subscriber gets both as retained messages.
    const observer = await Observer.connect(broker.url, ['st/status', options.availabilityTopic]);
    t.after(() => observer.close());
    const status = await observer.next((s) => s.topic === 'st/status');
    assert.equal(status.retain, true);
    assert.equal((await observer.nextText(options.availabilityTopic, 'online')).retain, true);
    await session.stop();
    await observer.nextText(options.availabilityTopic, 'stopped');
  });

  // Bounded so that a stop waiting for ever fails here: it used to wait for the acknowledgement of
  // `stopped` as long as the connection looked up, which a broker dropping it mid-stop made for ever.
  it('stops without the broker acknowledging `stopped`', { timeout: 20_000 }, async (t) => {
    const proxy = await CountingProxy.start(broker.port);
    t.after(() => proxy.close());
    const session = new MqttSession(sessionOptions(`mqtt://127.0.0.1:${proxy.port}`));
    await session.start();
    proxy.freeze();
    await session.stop();
    assert.equal(session.stats().connected, false);
  });

  it('leaves `offline` (the last will) when the process is killed', async (t) => {
    const topic = `will${process.pid}/availability`;
    const observer = await Observer.connect(broker.url, [topic]);
    t.after(() => observer.close());
    const script = helperScript('session-child.js');
    const child = spawn(process.execPath, [script, broker.url, topic], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.after(() => child.kill('SIGKILL'));
    await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => d.toString().includes('connected') && resolve()));
    await observer.nextText(topic, 'online');
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    const will = await observer.nextText(topic, 'offline');
    assert.equal(will.retain, false, 'live delivery of a retained will is not flagged retain to an existing subscriber');
  });

  it('delivers v5 properties of incoming messages and sends its own', async (t) => {
    const received: IncomingMessage[] = [];
    const session = new MqttSession(sessionOptions(broker.url, { subscriptions: ['props/in'], onMessage: (m) => received.push(m) }));
    t.after(() => session.stop());
    await session.start();
    const observer = await Observer.connect(broker.url, ['props/out']);
    t.after(() => observer.close());
    await observer.client.publishAsync('props/in', Buffer.from([1, 2, 3]), {
      qos: 0,
      properties: {
        contentType: 'image/jpeg',
        responseTopic: 'props/reply',
        correlationData: Buffer.from('abc'),
        userProperties: { sequence: '7' },
        messageExpiryInterval: 30,
      },
    });
    await until(() => received.length === 1, 'the message');
    const p = received[0]!.properties;
    assert.deepEqual(received[0]!.payload, Buffer.from([1, 2, 3]));
    assert.equal(p.contentType, 'image/jpeg');
    assert.equal(p.responseTopic, 'props/reply');
    assert.deepEqual(p.correlationData, Buffer.from('abc'));
    assert.deepEqual({ ...p.userProperties }, { sequence: '7' });
    assert.ok(p.messageExpiryInterval !== undefined && p.messageExpiryInterval <= 30);
    session.publish({ topic: 'props/out', payload: 'x', qos: 1, properties: { contentType: 'application/json', correlationData: Buffer.from('abc') } });
    const out = await observer.next((s) => s.topic === 'props/out');
    assert.equal(out.properties.contentType, 'application/json');
    assert.deepEqual(out.properties.correlationData, Buffer.from('abc'));
  });

  it('survives a broker restart: bounded outbox, dropped count, retained state and online republished', async (t) => {
    // Through a proxy that keeps the session away from the restarted broker until the observer has
    // subscribed: results the session flushed before that would go to nobody.
    const proxy = await CountingProxy.start(broker.port);
    const options = sessionOptions(`mqtt://127.0.0.1:${proxy.port}`, { maxBufferedMessages: 3 });
    const session = new MqttSession(options);
    let observer: Observer | undefined;
    t.after(async () => {
      await Promise.all([session.stop(), observer?.close()]);
      await proxy.close();
    });
    session.publishRetained({ topic: 'rs/status', payload: 'state-1', qos: 1 });
    await session.start();
    proxy.refuse();
    await broker.stop();
    await until(() => !session.stats().connected, 'the session to notice');
    for (let i = 0; i < 5; i++) session.publish({ topic: 'rs/result', payload: `r${i}`, qos: 1 });
    assert.deepEqual([session.stats().buffered, session.stats().dropped], [3, 2]);
    // mosquitto runs without persistence: whatever is retained after the restart, the session put there.
    await broker.start();
    observer = await Observer.connect(broker.url, ['rs/#', options.availabilityTopic]);
    proxy.admit();
    await until(() => session.stats().connected, 'the reconnect');
    await observer.next((s) => s.topic === 'rs/status' && s.payload.toString() === 'state-1');
    await observer.nextText(options.availabilityTopic, 'online');
    await until(() => observer!.seen.filter((s) => s.topic === 'rs/result').length === 3, 'the buffered results');
    assert.deepEqual(observer.seen.filter((s) => s.topic === 'rs/result').map((s) => s.payload.toString()), ['r2', 'r3', 'r4']);
    assert.equal(session.stats().reconnects, 1);
    assert.equal(session.stats().buffered, 0);
  });

  it('keeps retrying while the broker is down at start, then connects', async (t) => {
    await broker.stop();
    const { log, entries } = memoryLog();
    const session = new MqttSession(sessionOptions(broker.url, { log }));
    t.after(() => session.stop());
    let started = false;
    const starting = session.start().then(() => (started = true));
    const refused = () => entries.filter((e) => e.event === 'mqtt-disconnected').length;
    await until(() => refused() >= 3, 'three connection attempts refused while the broker is down');
    assert.equal(started, false);
    await broker.start();
    await starting;
    assert.equal(session.stats().connected, true);
  });

  it('splits a shared subscription between two sessions: every message exactly once', async (t) => {
    const got: string[][] = [[], []];
    const sessions = got.map(
      (list) => new MqttSession(sessionOptions(broker.url, { subscriptions: ['$share/g1/shared/frames'], onMessage: (m) => list.push(m.payload.toString()) })),
    );
    const publisher = await Observer.connect(broker.url, []);
    t.after(() => Promise.all([...sessions.map((s) => s.stop()), publisher.close()]));
    await Promise.all(sessions.map((s) => s.start()));
    const sent = Array.from({ length: 40 }, (_, i) => `m${i}`);
    for (const m of sent) await publisher.client.publishAsync('shared/frames', m, { qos: 1 });
    await until(() => got[0]!.length + got[1]!.length >= sent.length, 'all messages');
    const split = got.map((list) => list.length);
    // Then sentinels until each session has had one: the broker keeps one publisher's messages on a
    // topic in order, so whatever it meant to send a session before its sentinel has arrived by then.
    const sentinels: string[] = [];
    while (got.some((list) => !list.some((m) => m.startsWith('end')))) {
      assert.ok(sentinels.length < 50, `${sentinels.length} sentinels and a session got none: ${got.map((l) => l.join(',')).join(' / ')}`);
      const sentinel = `end${sentinels.length}`;
      sentinels.push(sentinel);
      await publisher.client.publishAsync('shared/frames', sentinel, { qos: 1 });
      await until(() => got.some((list) => list.includes(sentinel)), `sentinel ${sentinel}`);
    }
    assert.deepEqual([...got[0]!, ...got[1]!].sort(), [...sent, ...sentinels].sort());
    assert.ok(split[0]! > 0 && split[1]! > 0, `one session got nothing: ${split[0]}/${split[1]}`);
  });
});

describe('MQTT session against a broker without v5', () => {
  it('falls back to MQTT 3.1.1 and works', async () => {
    // aedes speaks only 3.1.1 and refuses a v5 CONNECT with "unacceptable protocol version".
    const aedes = await Aedes.createBroker();
    const server = net.createServer(aedes.handle);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    const received: string[] = [];
    const session = new MqttSession(sessionOptions(url, { subscriptions: ['v3/in'], onMessage: (m) => received.push(m.payload.toString()) }));
    await session.start();
    assert.equal(session.stats().protocolVersion, 4);
    const peer = await Observer.connect(url, ['v3/out'], { protocolVersion: 4 });
    await peer.client.publishAsync('v3/in', 'hello');
    session.publish({ topic: 'v3/out', payload: 'reply', qos: 1, properties: { contentType: 'text/plain' } });
    await peer.next((s) => s.topic === 'v3/out' && s.payload.toString() === 'reply');
    await until(() => received.includes('hello'), 'the incoming message');
    await session.stop();
    await peer.close();
    await new Promise<void>((r) => aedes.close(() => r()));
    await new Promise((r) => server.close(r));
  });
});
