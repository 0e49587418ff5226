/** Fault injection: the broker is SIGKILLed and restarted while four cameras stream. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Daemon } from '../../src/daemon/lifecycle/daemon.js';
import { createLogger } from '../../src/daemon/lifecycle/logger.js';
import { topicsFor } from '../../src/daemon/mqtt/topics.js';
import { testDaemonConfig } from '../helpers/daemon-config.js';
import { FakeClassifier, fakeJpeg } from '../helpers/fake-classifier.js';
import { killBroker, streamFrames, until } from '../helpers/fault-tools.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { Observer, type Seen } from '../helpers/mqtt-observer.js';

const json = (s: Seen) => JSON.parse(s.payload.toString()) as Record<string, any>;
const mb = (bytes: number) => Math.round(bytes / 2 ** 20);

describe('broker killed and restarted mid-stream', () => {
  let broker: Mosquitto;
  before(async () => {
    broker = await Mosquitto.start();
  });
  after(() => broker.close());

  it('stays up, reconnects, republishes retained state, resumes results within 5 s; outbox bounded, drops counted', async (t) => {
    const cams = ['a', 'b', 'c', 'd'];
    const p = process.pid;
    const outbox = 3;
    const config = await testDaemonConfig(
      broker.url,
      `statsIntervalSeconds: 1\nlimits: {queueDepth: 4}\ncameras:\n${cams.map((c) => `  ${c}: kill/${p}/${c}`).join('\n')}`,
      `maxBufferedMessages: ${outbox}`,
    );
    const topics = topicsFor(config.mqtt.topicPrefix, config.node);
    const classifier = new FakeClassifier();
    const observer = await Observer.connect(broker.url, [`${config.mqtt.topicPrefix}/${config.node}/#`]);
    const daemon = await Daemon.start({ config, createClassifier: async () => classifier, log: createLogger({ level: 'silent' }) });
    const stream = streamFrames(observer.client, cams.map((c) => `kill/${p}/${c}`), (n) => fakeJpeg(n % 256), 20);
    t.after(async () => {
      stream.stop();
      await Promise.all([daemon.stop(), observer.close()]);
    });
    const results = (from = 0) => observer.seen.slice(from).filter((s) => cams.some((c) => s.topic === topics.result(c)));
    await until(() => results().length >= 20, '20 results before the fault');

    // Frames held inside the pipeline while the broker dies: their results, and those of the frames
    // waiting in the cameras' slots, must go through the bounded outbox.
    const release = classifier.hold();
    await until(() => classifier.inFlight === 4, 'the pipeline to fill');
    const rssBefore = process.memoryUsage().rss;
    await killBroker(broker);
    await until(() => !daemon.mqttStats().connected, 'the daemon to notice the disconnect');
    release();
    let maxBuffered = 0;
    await until(() => {
      const s = daemon.mqttStats();
      maxBuffered = Math.max(maxBuffered, s.buffered);
      // 4 held frames + up to 4 waiting ones answered, and stats ticks, against an outbox of 3.
      return s.dropped >= 5 && classifier.inFlight === 0;
    }, 'results to overflow the outbox');
    const outage = daemon.mqttStats();
    const rssOutage = process.memoryUsage().rss;
    assert.ok(maxBuffered <= outbox, `outbox held ${maxBuffered} > ${outbox}`);
    assert.equal(outage.buffered, outbox);

    const from = observer.seen.length;
    const restartedAt = performance.now();
    await broker.start();
    const first = await observer.next((s) => cams.some((c) => s.topic === topics.result(c)), 10_000, from);
    const gapMs = performance.now() - restartedAt;
    const rssAfter = process.memoryUsage().rss;
    console.log(
      `broker restart: first result ${Math.round(gapMs)} ms after the broker was back; outbox max ${maxBuffered}/${outbox}, dropped ${outage.dropped}; ` +
        `RSS before ${mb(rssBefore)} MiB, during outage ${mb(rssOutage)} MiB, after ${mb(rssAfter)} MiB`,
    );
    assert.ok(gapMs < 5000, `results resumed ${Math.round(gapMs)} ms after the broker came back (limit 5000)`);
    assert.ok(json(first).top.length === 1);
    await until(() => results(from).length >= 20, '20 results after the restart');

    // The restarted broker keeps nothing (no persistence): retained state seen now was republished.
    const late = await Observer.connect(broker.url, [topics.status, topics.availability]);
    try {
      const status = json(await late.next((s) => s.topic === topics.status && s.retain));
      assert.equal(status.state, 'running');
      assert.deepEqual(Object.keys(status.cameras).sort(), cams);
      await late.next((s) => s.topic === topics.availability && s.retain && s.payload.toString() === 'online');
    } finally {
      await late.close();
    }
    const after = daemon.mqttStats();
    assert.equal(after.connected, true);
    assert.ok(after.reconnects >= 1);
    assert.equal(after.buffered, 0);
    assert.ok(after.dropped >= outage.dropped);
    // Generous: a leak per frame or per reconnect attempt would show as far more than this.
    assert.ok(rssAfter - rssBefore < 64 * 2 ** 20, `RSS grew by ${mb(rssAfter - rssBefore)} MiB`);
  });
});
