/** Fault injection: a segment executor dies mid-stream; the daemon reports it and rebuilds the pipeline. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import type { ClassifierFactory } from '../../src/daemon/frames/classifier.js';
import { Daemon } from '../../src/daemon/lifecycle/daemon.js';
import { classifierOverRunner } from '../../src/daemon/frames/pipeline-classifier.js';
import { topicsFor } from '../../src/daemon/mqtt/topics.js';
import { readModel } from '../../src/model/index.js';
import { modelTensorSpecs } from '../../src/model/tensor-spec.js';
import { PipelineDownError } from '../../src/daemon/frames/classifier.js';
import { PipelinedModelRunner } from '../../src/pipeline/runner.js';
import { testDataPath } from '../../src/testdata.js';
import { testDaemonConfig } from '../helpers/daemon-config.js';
import { FakeClassifier, fakeJpeg } from '../helpers/fake-classifier.js';
import { memoryLog, recordingNotifier, streamFrames, until } from '../helpers/fault-tools.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { Observer, type Seen } from '../helpers/mqtt-observer.js';

const json = (s: Seen) => JSON.parse(s.payload.toString()) as Record<string, any>;

describe('segment executor killed mid-stream', () => {
  let broker: Mosquitto;
  before(async () => {
    broker = await Mosquitto.start();
  });
  after(() => broker.close());

  async function setup(cameras: string[], recovery: object) {
    const p = process.pid;
    const config = await testDaemonConfig(broker.url, `cameras:\n${cameras.map((c) => `  ${c}: exec/${p}/${c}`).join('\n')}`);
    const topics = topicsFor(config.mqtt.topicPrefix, config.node);
    const observer = await Observer.connect(broker.url, [`${config.mqtt.topicPrefix}/${config.node}/#`]);
    const { log, entries } = memoryLog();
    const notifier = recordingNotifier();
    const events = () => observer.seen.filter((s) => s.topic === topics.events).map(json);
    const nextEvent = (name: string, ms = 20_000) => observer.next((s) => s.topic === topics.events && json(s).event === name, ms).then(json);
    return { config, topics, observer, log, entries, notifier, events, nextEvent, recovery, frameTopics: cameras.map((c) => `exec/${p}/${c}`) };
  }

  it('a crashed executor thread is reported (log, MQTT event, systemd STATUS), the pipeline rebuilt, frames answered again', async (t) => {
    const model = new Uint8Array(await readFile(testDataPath('models/mobilenet_v1_0.25_128_quant.tflite')));
    const { outputs } = modelTensorSpecs(readModel(model));
    let builds = 0;
    // Segment 0 is the real model; segment 1 a pass-through "post-processing" step on another executor,
    // whose worker thread the first build's fault kills at its 6th frame.
    const factory: ClassifierFactory = async (config, log) => {
      const build = ++builds;
      const runner = await PipelinedModelRunner.create([
        { kind: 'cpu', device: 'cpu:0', model },
        { kind: 'passthrough', device: 'cpu:1', inputs: outputs, ...(build === 1 && { faults: { crashOn: [5] } }) },
      ]);
      return classifierOverRunner(runner, config, log, { name: 'mobilenet_v1_0.25', hash: `build-${build}` });
    };
    const s = await setup(['a', 'b'], {});
    const jpeg = await sharp(testDataPath('images/cat_720p.jpg')).resize(160, 120).jpeg().toBuffer();
    const daemon = await Daemon.start({ config: s.config, createClassifier: factory, log: s.log, notifier: s.notifier, recovery: { minDelayMs: 50 } });
    const stream = streamFrames(s.observer.client, s.frameTopics, () => jpeg, 30);
    t.after(async () => {
      stream.stop();
      await Promise.all([daemon.stop(), s.observer.close()]);
    });

    const failed = await s.nextEvent('pipeline-failed');
    assert.match(failed.error, /^pipeline failed: segment 1 .*on cpu:1 died: .*crashed on purpose/);
    assert.equal(failed.device, 'cpu:1');
    const logged = s.entries.find((e) => e.event === 'pipeline-failed');
    assert.ok(logged, 'no pipeline-failed log line');
    assert.equal(logged.device, 'cpu:1');
    assert.ok(s.notifier.statuses.some((line) => /^pipeline failed: segment 1 .*died/.test(line)), `STATUS lines: ${s.notifier.statuses.join(' | ')}`);

    const rebuilt = await s.nextEvent('pipeline-rebuilt');
    assert.equal(rebuilt.attempts, 1);
    assert.deepEqual(rebuilt.devices, [['cpu:0'], ['cpu:1']]);
    const from = s.observer.seen.length;
    await until(() => s.observer.seen.slice(from).filter((m) => m.topic === s.topics.result('a') || m.topic === s.topics.result('b')).length >= 6, 'results from the rebuilt pipeline');
    const answered = s.observer.seen.slice(from).filter((m) => m.topic.endsWith('/result')).map(json);
    assert.ok(answered.every((r) => r.model.hash === 'build-2'), 'a result after the rebuild came from the dead pipeline');
    // Same image, same model: the rebuilt pipeline answers like the first one did before it died.
    const before = s.observer.seen.slice(0, from).find((m) => m.topic.endsWith('/result') && json(m).model.hash === 'build-1');
    assert.ok(before, 'the first pipeline answered nothing before dying');
    assert.deepEqual(answered[0]!.top, json(before).top);
    // The first running status after the failed one (the one before the failure said running too).
    const failedStatus = await s.observer.next((m) => m.topic === s.topics.status && json(m).state === 'failed');
    const status = json(await s.observer.next((m) => m.topic === s.topics.status && json(m).state === 'running', 10_000, s.observer.after(failedStatus)));
    assert.equal(status.model.hash, 'build-2');
    assert.equal(builds, 2);
    assert.ok(s.notifier.statuses.at(-1)!.startsWith('2 devices, model mobilenet_v1_0.25 in 2 segments'), s.notifier.statuses.at(-1));
  });

  it('when rebuilds keep failing: backoff, then says plainly it cannot serve, retries slowly, recovers when it can', async (t) => {
    const broken = new FakeClassifier({ model: { name: 'fake', hash: 'dead' }, segments: 1, devices: [['cpu:0']] });
    broken.failure = new PipelineDownError('pipeline failed: segment 0 on cpu:0 died: worker exited', 'segment 0', 'cpu:0');
    const calls: number[] = [];
    const factory: ClassifierFactory = async () => {
      calls.push(performance.now());
      if (calls.length === 1) return broken;
      if (calls.length <= 4) throw new Error(`device cpu:0 is not there (attempt ${calls.length - 1})`);
      return new FakeClassifier({ model: { name: 'fake', hash: 'alive' }, segments: 1, devices: [['cpu:0']] });
    };
    const slowDelayMs = 300;
    const s = await setup(['a'], {});
    const daemon = await Daemon.start({
      config: s.config,
      createClassifier: factory,
      log: s.log,
      notifier: s.notifier,
      recovery: { minDelayMs: 20, maxDelayMs: 40, fastAttempts: 2, slowDelayMs },
    });
    t.after(() => Promise.all([daemon.stop(), s.observer.close()]));
    await s.observer.client.publishAsync(s.frameTopics[0]!, fakeJpeg(1));
    await s.nextEvent('pipeline-failed');
    const first = await s.nextEvent('rebuild-failed');
    assert.equal(first.attempt, 1);
    assert.match(first.error, /device cpu:0 is not there \(attempt 1\)/);
    const cannot = await s.nextEvent('cannot-serve');
    assert.equal(cannot.attempts, 2);
    assert.equal(cannot.retryInMs, slowDelayMs);
    assert.match(cannot.error, /attempt 2/);
    assert.ok(s.notifier.statuses.some((l) => /^cannot serve the config: device cpu:0 is not there \(attempt 2\); retrying every 0 s$/.test(l)), s.notifier.statuses.join(' | '));
    assert.ok(s.entries.some((e) => e.event === 'cannot-serve' && e.level === 50), 'no cannot-serve error log line');
    const cannotStatus = await s.observer.next((m) => m.topic === s.topics.status && json(m).state === 'cannot-serve');
    assert.match(json(cannotStatus).rebuildError, /attempt 2/);

    // Frames wait (newest kept) while it cannot serve, and are answered by the recovered pipeline.
    await s.observer.client.publishAsync(s.frameTopics[0]!, fakeJpeg(7));
    const rebuilt = await s.nextEvent('pipeline-rebuilt');
    assert.equal(rebuilt.attempts, 4);
    const result = json(await s.observer.next((m) => m.topic === s.topics.result('a') && json(m).model.hash === 'alive'));
    assert.equal(result.top[0].index, 7);
    // Once it cannot serve, attempts are spaced by the slow delay, not a tight loop.
    assert.equal(calls.length, 5);
    assert.ok(calls[3]! - calls[2]! >= slowDelayMs - 2, `slow retries ${Math.round(calls[3]! - calls[2]!)} ms apart`);
    assert.ok(calls[4]! - calls[3]! >= slowDelayMs - 2);
    // The first running status after it could not serve (the one at the start said running too).
    assert.equal(json(await s.observer.next((m) => m.topic === s.topics.status && json(m).state === 'running', 10_000, s.observer.after(cannotStatus))).model.hash, 'alive');
  });
});
