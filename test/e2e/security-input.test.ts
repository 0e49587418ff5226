/**
 * What a camera (or anyone who can publish on its topic) can make the daemon do: topic parts with
 * wildcards are refused by the config schema, oversize payloads are refused before anything decodes
 * them, a payload is only ever bytes (never a file path to open), and a v5 response topic cannot make
 * the daemon publish where the broker would drop its connection.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import type { FrameClassifier } from '../../src/daemon/frames/classifier.js';
import { ConfigError } from '../../src/daemon/config/config-error.js';
import { parseConfigText } from '../../src/daemon/config/config-parse.js';
import { Daemon } from '../../src/daemon/lifecycle/daemon.js';
import { BadFrameError, parseFrame } from '../../src/daemon/frames/frame-intake.js';
import { createLogger } from '../../src/daemon/lifecycle/logger.js';
import { createPipelineClassifier } from '../../src/daemon/frames/pipeline-classifier.js';
import { topicsFor } from '../../src/daemon/mqtt/topics.js';
import { testDataPath } from '../../src/testdata.js';
import { testDaemonConfig } from '../helpers/daemon-config.js';
import { FakeClassifier } from '../helpers/fake-classifier.js';
import { HOSTILE_RESPONSE_TOPICS } from '../helpers/frame-fuzz.js';
import { brokerAndScratchDir } from '../helpers/mosquitto.js';
import { Observer, type Seen } from '../helpers/mqtt-observer.js';
import { until } from '../helpers/fault-tools.js';

const log = createLogger({ level: 'silent' });
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2]);
const json = (s: Seen) => JSON.parse(s.payload.toString()) as Record<string, any>;

function problemsOf(text: string): ConfigError['problems'] {
  try {
    parseConfigText(text, 'c.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  assert.fail(`accepted: ${text}`);
}

describe('config schema: topic parts', () => {
  it('refuses a topic prefix with "+", "#", NUL or an empty level, at its line', () => {
    for (const bad of ['+', 'a/+', 'a/#', '#', 'a\u0000b', '/a', 'a/', 'a//b', '']) {
      const problems = problemsOf(`model: m.tflite\ncameras: {a: t}\nmqtt:\n  topicPrefix: ${JSON.stringify(bad)}\n`);
      const p = problems.find((x) => x.path === 'mqtt.topicPrefix');
      assert.ok(p, `${JSON.stringify(bad)}: ${JSON.stringify(problems)}`);
      assert.equal(p.line, 4);
      assert.match(p.message, /topic prefix/);
    }
    // Several plain levels are fine.
    assert.equal(parseConfigText('model: m.tflite\ncameras: {a: t}\nmqtt: {topicPrefix: site/coral}\n', 'c.yaml').mqtt.topicPrefix, 'site/coral');
  });
});

describe('frame intake: response topics and timestamps from the publisher', () => {
  const reason = (properties: Parameters<typeof parseFrame>[1]['properties']) => {
    try {
      parseFrame('cam', { topic: 't', payload: JPEG, properties }, { maxPayloadBytes: 100 });
    } catch (err) {
      assert.ok(err instanceof BadFrameError);
      return err.reason;
    }
    assert.fail('accepted');
  };

  it('refuses a response topic the daemon may not publish to', () => {
    for (const bad of [...HOSTILE_RESPONSE_TOPICS, 'a\u0000b']) assert.match(reason({ responseTopic: bad }), /response topic .* is not one to publish to/, JSON.stringify(bad));
    assert.equal(parseFrame('cam', { topic: 't', payload: JPEG, properties: { responseTopic: 'replies/x' } }, { maxPayloadBytes: 100 }).responseTopic, 'replies/x');
  });

  it('refuses a timestamp beyond what a Date holds (it would make the result fail to serialise)', () => {
    for (const bad of ['9007199254740993', '8640000000000001']) assert.match(reason({ userProperties: { timestamp: bad } }), /timestamp/);
    assert.throws(() => parseFrame('cam', { topic: 't', payload: Buffer.from(JSON.stringify({ image: JPEG.toString('base64'), timestamp: 2 ** 53 })), properties: {} }, { maxPayloadBytes: 100 }), BadFrameError);
  });
});

describe('daemon: what a publisher can make it do', () => {
  const scratch = brokerAndScratchDir('coral-pipe-security-');

  /** A daemon with camera `a` served by `classifier`, and an observer of its topics and of replies under the scratch folder. */
  async function setup(t: TestContext, classifier: FrameClassifier, limits: string) {
    const frameTopic = `sec/${process.pid}/${Math.random().toString(16).slice(2)}`;
    const config = await testDaemonConfig(scratch.broker.url, `cameras:\n  a: ${frameTopic}\nlimits: ${limits}\n`);
    const topics = topicsFor(config.mqtt.topicPrefix, config.node);
    const observer = await Observer.connect(scratch.broker.url, [`${config.mqtt.topicPrefix}/${config.node}/#`, `${scratch.dir}/#`]);
    const daemon = await Daemon.start({ config, createClassifier: async () => classifier, log });
    t.after(() => Promise.all([daemon.stop(), observer.close()]));
    await observer.nextText(topics.availability, 'online');
    return { frameTopic, topics, observer, daemon };
  }

  it('refuses an oversize payload before decoding: the real classifier (sharp) is never called for it', async (t) => {
    const real = await createPipelineClassifier({ ...(await testDaemonConfig(scratch.broker.url, 'cameras: {a: x}')), model: { file: testDataPath('models/mobilenet_v1_0.25_128_quant.tflite') } }, log);
    // The spy: every frame the pipeline (and so sharp) sees goes through classify.
    let classified = 0;
    const spy: FrameClassifier = { info: real.info, stats: () => real.stats(), close: () => real.close(), classify: (image, crop) => (classified++, real.classify(image, crop)) };
    const { frameTopic, topics, observer, daemon } = await setup(t, spy, '{maxPayloadBytes: 200000}');
    const big = await readFile(testDataPath('images/parrot.jpg'));
    assert.ok(big.length > 200_000);
    await observer.client.publishAsync(frameTopic, big);
    await observer.client.publishAsync(frameTopic, Buffer.from(JSON.stringify({ image: big.toString('base64') })));
    const errors = () => observer.seen.filter((s) => s.topic === topics.error('a'));
    await until(() => errors().length >= 2, 'error events for both oversize payloads');
    assert.equal(errors().length, 2);
    for (const e of errors()) assert.match(json(e).reason, /payload of \d+ bytes is over limits\.maxPayloadBytes \(200000\)/);
    assert.equal(classified, 0);
    // The spy does see a frame under the cap: the count above is not vacuous.
    await observer.client.publishAsync(frameTopic, await readFile(testDataPath('images/cat_720p.jpg')));
    assert.equal(json(await observer.next((s) => s.topic === topics.result('a'))).top.length, 5);
    assert.equal(classified, 1);
    assert.equal(daemon.cameraTotals('a')!.errors, 2);
  });

  it('treats payloads naming file paths as bytes: nothing is read from or written to them', async (t) => {
    const classifier = new FakeClassifier();
    const { frameTopic, topics, observer, daemon } = await setup(t, classifier, '{maxPayloadBytes: 100000}');
    const image = testDataPath('images/cat.png');
    const jpeg = testDataPath('images/cat_720p.jpg');
    // "/9j/" is base64 for FF D8 FF, a JPEG's first bytes: a path starting so would pass the signature
    // check, but its dots are no base64.
    const jpegLookingPath = '/9j/4AAQ/../../etc/passwd';
    const payloads: (string | Buffer)[] = [
      image,
      `file://${image}`,
      JSON.stringify({ image }),
      JSON.stringify({ file: image, path: jpeg, url: `file://${jpeg}` }),
      JSON.stringify({ image: jpegLookingPath }),
    ];
    for (const p of payloads) await observer.client.publishAsync(frameTopic, p);
    // A response topic that looks like a file: answered on MQTT, nothing written there.
    const replyFile = path.join(scratch.dir, 'reply');
    const small = await readFile(jpeg);
    await observer.client.publishAsync(frameTopic, JSON.stringify({ image: small.subarray(0, 64).toString('base64'), file: jpeg }), { properties: { responseTopic: replyFile } });
    await observer.next((s) => s.topic === replyFile);
    const seenErrors = () => observer.seen.filter((s) => s.topic === topics.error('a')).length;
    await until(() => seenErrors() >= payloads.length, () => `error events for the ${payloads.length} payloads that are no usable image: ${seenErrors()} seen`);

    // Only one frame reached the classifier, as exactly the bytes in the message.
    assert.deepEqual(classifier.seen.map((s) => s.image), [small.subarray(0, 64)]);
    assert.equal(daemon.cameraTotals('a')!.errors, payloads.length);
    const reasons = observer.seen.filter((s) => s.topic === topics.error('a')).map((s) => json(s).reason as string);
    for (const r of reasons) assert.match(r, /not a JPEG or PNG|no "image" field|not valid base64/);
    assert.equal(existsSync(replyFile), false);
  });

  it('does not let a response topic with wildcards get the daemon disconnected', async (t) => {
    const classifier = new FakeClassifier();
    const { frameTopic, topics, observer, daemon } = await setup(t, classifier, '{maxPayloadBytes: 1000}');
    for (const responseTopic of HOSTILE_RESPONSE_TOPICS) await observer.client.publishAsync(frameTopic, JPEG, { properties: { responseTopic } });
    await observer.client.publishAsync(frameTopic, Buffer.concat([JPEG, Buffer.from([7])]), { properties: { responseTopic: `${scratch.dir}/ok` } });
    // And an empty payload, whose error event is the sentinel: the error events of the frames before it
    // come before it on the same topic.
    await observer.client.publishAsync(frameTopic, Buffer.alloc(0));
    assert.equal(json(await observer.next((s) => s.topic === `${scratch.dir}/ok`)).top[0].index, 7);
    const sentinel = await observer.next((s) => s.topic === topics.error('a') && /payload is empty/.test(json(s).reason));
    const reasons = observer.seen.slice(0, observer.after(sentinel) - 1).filter((s) => s.topic === topics.error('a')).map((s) => json(s).reason as string);
    assert.equal(reasons.length, HOSTILE_RESPONSE_TOPICS.length);
    for (const r of reasons) assert.match(r, /response topic .* is not one to publish to/);
    assert.equal(daemon.mqttStats().reconnects, 0);
    assert.equal(classifier.seen.length, 1);
  });
});
