/**
 * The way of a frame through the daemon (frames/frame-path.ts), without a broker: messages from the
 * session in force go to their camera and are answered on its topics; other sessions' messages and
 * topics that feed no camera are not frames; during a switch a frame is answered once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { FramePath } from '../../../src/daemon/frames/frame-path.js';
import { Cameras } from '../../../src/daemon/frames/frame-intake.js';
import type { Serving } from '../../../src/daemon/frames/serving.js';
import type { IncomingMessage, MqttSession, OutgoingMessage } from '../../../src/daemon/mqtt/mqtt-session.js';
import { topicsFor } from '../../../src/daemon/mqtt/topics.js';
import { FakeClassifier, fakeJpeg } from '../../helpers/fake-classifier.js';
import { testDaemonConfig } from '../../helpers/daemon-config.js';

/** A session that keeps what is published on it, and tells a waiter when `n` messages are there. */
class PublishLog {
  readonly published: OutgoingMessage[] = [];
  private waiters: { n: number; wake: () => void }[] = [];

  readonly session = { publish: (m: OutgoingMessage) => this.add(m) } as unknown as MqttSession;

  private add(m: OutgoingMessage): void {
    this.published.push(m);
    for (const w of this.waiters.filter((w) => this.published.length >= w.n)) w.wake();
  }

  /** Resolves once `n` messages in all were published. */
  until(n: number): Promise<void> {
    return this.published.length >= n ? Promise.resolve() : new Promise((wake) => this.waiters.push({ n, wake }));
  }

  /** The sequence numbers of the results published, in order. */
  results(): number[] {
    return this.published.filter((m) => m.topic.endsWith('/result')).map((m) => JSON.parse(String(m.payload)).top[0].index);
  }
}

const message = (topic: string, payload: Buffer): IncomingMessage => ({ topic, payload, properties: {} });

async function setUp(limits = '') {
  const config = await testDaemonConfig('mqtt://127.0.0.1:1', `cameras: {front: cams/front}\n${limits}`);
  const cameras = new Cameras();
  cameras.set(config);
  const other: IncomingMessage[] = [];
  const path = new FramePath(cameras, pino({ level: 'silent' }), () => {}, (m) => other.push(m));
  const classifier = new FakeClassifier();
  const serving = (log: PublishLog): Serving => ({ config, classifier, connection: { session: log.session, topics: topicsFor(config.mqtt.topicPrefix, config.node) } });
  const current = new PublishLog();
  path.serve(serving(current), false);
  return { config, cameras, classifier, path, other, current, serving };
}

describe('frame path', () => {
  it("answers a frame from the session in force on its camera's result topic; another session's is no frame", async () => {
    const { config, path, current } = await setUp();
    const stranger = new PublishLog();
    path.accept(message('cams/front', fakeJpeg(5)), stranger.session);
    path.accept(message('cams/front', fakeJpeg(6)), current.session);
    await current.until(1);
    assert.deepEqual(current.results(), [6]);
    assert.equal(current.published[0]!.topic, `${config.mqtt.topicPrefix}/${config.node}/camera/front/result`);
    assert.equal(stranger.published.length, 0);
  });

  it('hands messages on topics that feed no camera to its owner, and only those of the session in force', async () => {
    const { path, other, current } = await setUp();
    path.accept(message('homeassistant/status', Buffer.from('online')), current.session);
    path.accept(message('homeassistant/status', Buffer.from('online')), new PublishLog().session);
    assert.deepEqual(other.map((m) => m.topic), ['homeassistant/status']);
    assert.equal(current.published.length, 0);
  });

  it('answers once a frame both sessions receive during a switch; after it, the same bytes are a new frame', async () => {
    const { path, current, serving } = await setUp();
    path.overlap.begin();
    path.accept(message('cams/front', fakeJpeg(1)), current.session);
    path.accept(message('cams/front', fakeJpeg(2)), current.session);
    await current.until(2);
    const next = new PublishLog();
    path.serve(serving(next), false);
    path.accept(message('cams/front', fakeJpeg(1)), next.session);
    path.accept(message('cams/front', fakeJpeg(3)), next.session);
    await next.until(1);
    // Ended long enough ago that late deliveries are no longer expected.
    path.overlap.end(performance.now() - 60_000);
    path.accept(message('cams/front', fakeJpeg(2)), next.session);
    await next.until(2);
    assert.deepEqual(current.results(), [1, 2]);
    assert.deepEqual(next.results(), [3, 2], 'frame 1 skipped as taken by the old session; frame 2 after the switch is new');
  });

  it('parses a frame only when it leaves its slot: one displaced by a newer frame costs nothing, even if bad', async () => {
    const { cameras, classifier, path, current } = await setUp('limits: {queueDepth: 1}');
    const release = classifier.hold();
    path.accept(message('cams/front', fakeJpeg(1)), current.session);
    // Waits while frame 1 is in the pipeline, then is displaced: never parsed, so never refused.
    path.accept(message('cams/front', Buffer.from('{"image": "not base64!"}')), current.session);
    path.accept(message('cams/front', fakeJpeg(3)), current.session);
    release();
    await current.until(2);
    assert.deepEqual(current.results(), [1, 3]);
    const front = cameras.get('front')!;
    assert.deepEqual([front.totals.received, front.slot.dropped, front.totals.errors], [3, 1, 0]);
    // The same bad frame, taken from its slot, is refused with what is wrong with it.
    path.accept(message('cams/front', Buffer.from('{"image": "not base64!"}')), current.session);
    await current.until(3);
    assert.match(JSON.parse(String(current.published[2]!.payload)).reason, /"image" is not valid base64/);
    assert.deepEqual([front.totals.received, front.totals.errors, path.inFlight], [4, 1, 0]);
  });
});
