import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { PipelineDownError } from '../../src/daemon/frames/classifier.js';
import type { Notifier } from '../../src/systemd/notify.js';
import { Daemon, type DaemonOptions } from '../../src/daemon/lifecycle/daemon.js';
import { createLogger } from '../../src/daemon/lifecycle/logger.js';
import { topicsFor } from '../../src/daemon/mqtt/topics.js';
import { testDaemonConfig } from '../helpers/daemon-config.js';
import { FakeClassifier, fakeJpeg } from '../helpers/fake-classifier.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { Observer, type Seen } from '../helpers/mqtt-observer.js';
import { until as waitUntil } from '../helpers/fault-tools.js';

const log = createLogger({ level: 'silent' });

const until = (condition: () => boolean, what: string) => waitUntil(condition, what, 10_000);

const json = (s: Seen) => JSON.parse(s.payload.toString()) as Record<string, any>;

describe('daemon frame path (fake classifier, real mosquitto)', () => {
  let broker: Mosquitto;
  before(async () => {
    broker = await Mosquitto.start();
  });
  after(() => broker.close());

  /** A daemon with cameras a and b (topics cam/<pid>/a, cam/<pid>/b) and an observer of everything it publishes. */
  async function setup(t: TestContext, extraYaml = '', mqttYaml = '', classifier = new FakeClassifier(), notifier?: Notifier, more: Partial<DaemonOptions> = {}) {
    const p = process.pid;
    const config = await testDaemonConfig(broker.url, `cameras:\n  a: cam/${p}/a\n  b:\n    topics: [cam/${p}/b]\n    crop: {x: 1, y: 2, width: 3, height: 4}\n${extraYaml}`, mqttYaml);
    const topics = topicsFor(config.mqtt.topicPrefix, config.node);
    const observer = await Observer.connect(broker.url, [`${config.mqtt.topicPrefix}/${config.node}/#`, 'replies/#']);
    const daemon = await Daemon.start({ config, createClassifier: async () => classifier, log, ...(notifier && { notifier }), ...more });
    // Also on failure: a daemon left running would keep the test process alive.
    t.after(() => Promise.all([daemon.stop(), observer.close()]));
    const frameTopic = (cam: string) => `cam/${p}/${cam}`;
    return { config, topics, observer, daemon, classifier, frameTopic };
  }

  it('answers frames with results; status retained and online; v5 properties honoured', async (t) => {
    const { topics, observer, daemon, classifier, frameTopic } = await setup(t);
    await observer.nextText(topics.availability, 'online');
    const status = json(await observer.next((s) => s.topic === topics.status));
    assert.deepEqual(status.model, { name: 'fake', hash: 'f00d' });
    assert.deepEqual(Object.keys(status.cameras).sort(), ['a', 'b']);

    await observer.client.publishAsync(frameTopic('a'), fakeJpeg(42), { qos: 0, properties: { userProperties: { sequence: '17', timestamp: '1700000000000' } } });
    const a = await observer.next((s) => s.topic === topics.result('a'));
    const result = json(a);
    assert.equal(result.camera, 'a');
    assert.equal(result.sequence, 17);
    assert.equal(result.timestamp, new Date(1700000000000).toISOString());
    assert.deepEqual(result.top, [{ index: 42, label: 'fake-42', score: 0.9 }]);
    assert.deepEqual(result.model, { name: 'fake', hash: 'f00d' });
    assert.equal(result.segments, 2);
    assert.deepEqual(result.devices, [['cpu:0'], ['cpu:1']]);
    assert.deepEqual(Object.keys(result.latencyMs).sort(), ['decode', 'inference', 'queue', 'total']);
    assert.equal(a.properties.contentType, 'application/json');
    assert.equal(a.properties.userProperties?.sequence, '17');

    // Response topic + correlation data, and a JSON frame with base64 image; camera b's crop goes to the classifier.
    const correlationData = Buffer.from([9, 8, 7]);
    const body = JSON.stringify({ image: fakeJpeg(7).toString('base64'), sequence: 3 });
    await observer.client.publishAsync(frameTopic('b'), body, { qos: 0, properties: { responseTopic: 'replies/x', correlationData, contentType: 'application/json' } });
    const reply = await observer.next((s) => s.topic === 'replies/x');
    assert.deepEqual(reply.properties.correlationData, correlationData);
    assert.equal(json(reply).sequence, 3);
    assert.deepEqual(json(reply).top[0].index, 7);
    const onResultTopic = await observer.next((s) => s.topic === topics.result('b'));
    assert.deepEqual(onResultTopic.properties.correlationData, correlationData);
    assert.deepEqual(classifier.seen.at(-1)!.crop, { x: 1, y: 2, width: 3, height: 4 });

    await daemon.stop();
    await observer.nextText(topics.availability, 'stopped');
    assert.equal(classifier.closed, true);
    await observer.close();
  });

  it('counts and publishes bad payloads without stopping any camera', async (t) => {
    const { topics, observer, daemon, frameTopic } = await setup(t, 'limits:\n  maxPayloadBytes: 64\n');
    await observer.nextText(topics.availability, 'online');
    const bad: [Buffer | string, RegExp][] = [
      [Buffer.alloc(0), /empty/],
      [Buffer.from('hello, not an image'), /not a JPEG or PNG/],
      [Buffer.alloc(65, 0xff), /over limits\.maxPayloadBytes/],
      ['{"image": 3}', /no "image" field/],
      ['{"image": ', /does not parse/],
      [fakeJpeg(1, 'BROKEN'), /truncated JPEG/],
    ];
    for (const [payload] of bad) await observer.client.publishAsync(frameTopic('a'), payload);
    await observer.client.publishAsync(frameTopic('b'), fakeJpeg(5));
    await until(() => observer.seen.filter((s) => s.topic === topics.error('a')).length === bad.length, 'every error event');
    const errors = observer.seen.filter((s) => s.topic === topics.error('a')).map((s) => json(s).reason as string);
    for (const [i, [, reason]] of bad.entries()) assert.match(errors[i]!, reason);
    assert.equal(json(await observer.next((s) => s.topic === topics.result('b'))).top[0].index, 5);
    // Camera a still works after all that.
    await observer.client.publishAsync(frameTopic('a'), fakeJpeg(6));
    assert.equal(json(await observer.next((s) => s.topic === topics.result('a'))).top[0].index, 6);
    assert.equal(daemon.cameraTotals('a')!.errors, bad.length);
    await daemon.stop();
    await observer.close();
  });

  it('keeps only the newest waiting frame per camera and counts the dropped ones', async (t) => {
    const classifier = new FakeClassifier();
    const { topics, observer, daemon, frameTopic } = await setup(t, 'limits:\n  queueDepth: 1\n', '', classifier);
    await observer.nextText(topics.availability, 'online');
    const release = classifier.hold();
    for (let i = 1; i <= 6; i++)
      await observer.client.publishAsync(frameTopic('a'), fakeJpeg(i), { qos: 0, properties: { userProperties: { sequence: String(i) } } });
    await until(() => daemon.cameraTotals('a')!.received === 6, 'all frames to arrive');
    // Frame 1 went into the pipeline; 2..5 were each replaced by the next; 6 waits.
    assert.equal(classifier.inFlight, 1);
    assert.equal(daemon.cameraTotals('a')!.dropped, 4);
    release();
    await until(() => observer.seen.filter((s) => s.topic === topics.result('a')).length === 2, 'two results');
    // A sentinel frame 7 after them: once it is answered, so is anything taken before it (one camera's
    // frames are answered in order and the results published in order), so no dropped frame can still
    // be on its way.
    await observer.client.publishAsync(frameTopic('a'), fakeJpeg(7), { qos: 0, properties: { userProperties: { sequence: '7' } } });
    await observer.next((s) => s.topic === topics.result('a') && json(s).sequence === 7);
    assert.deepEqual(observer.seen.filter((s) => s.topic === topics.result('a')).map((s) => json(s).sequence), [1, 6, 7]);
    await daemon.stop();
    await observer.close();
  });

  it('lets 2 x segments + 2 frames into the pipeline unless limits.queueDepth says otherwise', async (t) => {
    for (const segments of [1, 3]) {
      const classifier = new FakeClassifier({ model: { name: 'fake', hash: 'f00d' }, segments, devices: Array.from({ length: segments }, (_, i) => [`cpu:${i}`]) });
      const { topics, observer, daemon, frameTopic } = await setup(t, '', '', classifier);
      await observer.nextText(topics.availability, 'online');
      const release = classifier.hold();
      const depth = 2 * segments + 2;
      for (let i = 1; i <= depth + 2; i++) await observer.client.publishAsync(frameTopic('a'), fakeJpeg(i));
      await until(() => daemon.cameraTotals('a')!.received === depth + 2, 'all frames to arrive');
      // The first `depth` frames went in; the next waited and was replaced by the last.
      assert.equal(classifier.inFlight, depth, `${segments} segment(s)`);
      assert.equal(daemon.cameraTotals('a')!.dropped, 1);
      release();
      await daemon.stop();
      await observer.close();
    }
  });

  it('does not process frames whose message expiry passed while they waited', async (t) => {
    const classifier = new FakeClassifier();
    const { topics, observer, daemon, frameTopic } = await setup(t, 'limits:\n  queueDepth: 1\n', '', classifier);
    await observer.nextText(topics.availability, 'online');
    const release = classifier.hold();
    await observer.client.publishAsync(frameTopic('a'), fakeJpeg(1));
    await observer.client.publishAsync(frameTopic('b'), fakeJpeg(2), { properties: { messageExpiryInterval: 1 } });
    await until(() => daemon.cameraTotals('b')!.received === 1, 'the expiring frame');
    // What this test is about is time passing: the frame's 1 s expiry, counted from its arrival (which
    // was before the line above saw it), must be over before the pipeline gets to it.
    await new Promise((r) => setTimeout(r, 1100));
    release();
    await observer.next((s) => s.topic === topics.result('a'));
    await observer.client.publishAsync(frameTopic('b'), fakeJpeg(3));
    const b = await observer.next((s) => s.topic === topics.result('b'));
    assert.equal(json(b).top[0].index, 3, 'the expired frame 2 was answered');
    assert.equal(daemon.cameraTotals('b')!.expired, 1);
    await daemon.stop();
    await observer.close();
  });

  it('publishes stats every interval and pings the watchdog only while frames complete', async (t) => {
    const classifier = new FakeClassifier();
    // systemd notifications in order, with WITHHELD for each watchdog tick that sent no ping (from the
    // log): the ticks a test waits for, instead of for time to pass.
    const pings: string[] = [];
    const notifier: Notifier = {
      enabled: true,
      watchdogIntervalMs: 40,
      ready: (s) => pings.push(`READY ${s}`),
      status: (s) => pings.push(`STATUS ${s}`),
      watchdog: () => pings.push('WATCHDOG'),
      stopping: () => pings.push('STOPPING'),
      send: () => {},
    };
    const tickLog = createLogger({ level: 'warn', destination: { write: (line: string) => void ((JSON.parse(line) as { event?: string }).event === 'watchdog-withheld' && pings.push('WITHHELD')) } });
    /** Waits for `n` withheld ticks after index `from` of `pings`; returns the index of the first. */
    const withheld = async (from: number, n: number, what: string): Promise<number> => {
      await until(() => pings.slice(from).filter((p) => p === 'WITHHELD').length >= n, `${n} watchdog ticks withheld ${what}`);
      return from + pings.slice(from).indexOf('WITHHELD');
    };
    // No rebuild of the dead pipeline below while the test watches its ticks (the fake would "rebuild" at once).
    const { topics, observer, daemon, frameTopic } = await setup(t, 'statsIntervalSeconds: 1\n', '', classifier, notifier, { log: tickLog, recovery: { minDelayMs: 600_000 } });
    assert.match(pings[0]!, /^STATUS pipeline built; connecting to the MQTT broker at mqtt:/);
    assert.match(pings[1]!, /^READY 2 devices, model fake in 2 segments, 0 fps, 0% dropped$/);
    await until(() => pings.includes('WATCHDOG'), 'an idle watchdog ping');
    await observer.client.publishAsync(frameTopic('a'), fakeJpeg(1));
    const stats = json(await observer.next((s) => s.topic === topics.stats));
    assert.deepEqual(Object.keys(stats.cameras).sort(), ['a', 'b']);
    assert.equal(stats.mqtt.connected, true);
    assert.ok(pings.some((p) => p.startsWith('STATUS 2 devices, model fake in 2 segments')));
    // A hung pipeline: one frame never completes, so pings stop. (The first tick after it entered may
    // still ping for frame 1; from the first withheld one on, every tick must withhold.)
    const release = classifier.hold();
    await observer.client.publishAsync(frameTopic('a'), fakeJpeg(2));
    await until(() => classifier.inFlight === 1, 'the frame to enter');
    const stalled = await withheld(pings.length, 4, 'with the frame hung');
    assert.equal(pings.slice(stalled).filter((p) => p === 'WATCHDOG').length, 0, `watchdog pinged while hung: ${pings.slice(stalled).join(', ')}`);
    const hung = pings.length;
    release();
    await until(() => pings.slice(hung).includes('WATCHDOG'), 'pings to resume');
    // A dead pipeline: frames fail at once, which is not progress; the status says failed, pings stop for good.
    classifier.failure = new PipelineDownError('pipeline failed: segment 1 (s1.tflite) on cpu:1 died: worker exited', 'segment 1 (s1.tflite)', 'cpu:1');
    await observer.client.publishAsync(frameTopic('a'), fakeJpeg(3));
    const failed = json(await observer.next((s) => s.topic === topics.status && json(s).state === 'failed'));
    assert.match(failed.error, /segment 1 .* on cpu:1 died/);
    const dead = pings.findIndex((p) => p.startsWith('STATUS pipeline failed'));
    assert.ok(dead >= 0, pings.join(', '));
    await withheld(dead, 4, 'with the pipeline dead');
    assert.equal(pings.slice(dead).filter((p) => p === 'WATCHDOG').length, 0, `watchdog pinged with a dead pipeline: ${pings.slice(dead).join(', ')}`);
    await daemon.stop();
    assert.equal(pings.at(-1), 'STOPPING');
    await observer.close();
  });

  it('keeps answering across a broker restart', async (t) => {
    const { topics, observer, daemon, frameTopic } = await setup(t);
    await observer.nextText(topics.availability, 'online');
    await observer.client.publishAsync(frameTopic('a'), fakeJpeg(1));
    await observer.next((s) => s.topic === topics.result('a'));
    await broker.stop();
    await until(() => !daemon.mqttStats().connected, 'the disconnect');
    const from = observer.seen.length;
    await broker.start();
    await until(() => daemon.mqttStats().connected && observer.client.connected, 'both to reconnect');
    // The observer's subscription died with the broker (no persistence): subscribe again.
    await observer.client.subscribeAsync([`${topics.status.replace(/\/status$/, '')}/#`], { qos: 1 });
    await observer.next((s) => s.topic === topics.status, 10_000, from);
    await observer.client.publishAsync(frameTopic('a'), fakeJpeg(2));
    assert.equal(json(await observer.next((s) => s.topic === topics.result('a'), 10_000, from)).top[0].index, 2);
    await daemon.stop();
    await observer.close();
  });

  it('splits frames between two daemons in one shared group: each answered exactly once', async (t) => {
    const one = await setup(t, '', 'sharedGroup: g');
    const c2 = new FakeClassifier();
    const config2 = await testDaemonConfig(broker.url, `cameras:\n  a: cam/${process.pid}/a\n  b: cam/${process.pid}/b\n`, 'sharedGroup: g');
    const two = await Daemon.start({ config: config2, createClassifier: async () => c2, log });
    t.after(() => two.stop());
    const observer2 = await Observer.connect(broker.url, [`${config2.mqtt.topicPrefix}/${config2.node}/camera/+/result`]);
    const sent = 30;
    const results = () => [
      ...one.observer.seen.filter((s) => s.topic === one.topics.result('a')),
      ...observer2.seen.filter((s) => s.topic.endsWith('/camera/a/result')),
    ];
    // One frame at a time, so that latest-wins never drops one and every frame must be answered.
    for (let i = 0; i < sent; i++) {
      await one.observer.client.publishAsync(one.frameTopic('a'), fakeJpeg(i), { qos: 1, properties: { userProperties: { sequence: String(i) } } });
      await until(() => results().length >= i + 1, `frame ${i} answered`);
    }
    const split = [one.classifier.seen.length, c2.seen.length];
    // Then sentinel frames until each daemon has answered one: a daemon answers one camera's frames in
    // order, so a second answer to any earlier frame could not still be on its way.
    const answeredBy = (observer: Observer, seq: number) => observer.seen.some((s) => s.topic.endsWith('/camera/a/result') && json(s).sequence === seq);
    const sentinels: number[] = [];
    while (![one.observer, observer2].every((o) => sentinels.some((seq) => answeredBy(o, seq)))) {
      assert.ok(sentinels.length < 50, `${sentinels.length} sentinel frames and one daemon answered none`);
      const seq = 1000 + sentinels.length;
      sentinels.push(seq);
      await one.observer.client.publishAsync(one.frameTopic('a'), fakeJpeg(seq % 256), { qos: 1, properties: { userProperties: { sequence: String(seq) } } });
      await until(() => results().some((s) => json(s).sequence === seq), `sentinel frame ${seq} answered`);
    }
    assert.deepEqual(results().map((s) => json(s).sequence).sort((x, y) => x - y), [...Array(sent).keys(), ...sentinels]);
    assert.ok(split[0]! > 0 && split[1]! > 0, 'one daemon got no frames');
    await Promise.all([one.daemon.stop(), two.stop()]);
    await Promise.all([one.observer.close(), observer2.close()]);
  });
});
