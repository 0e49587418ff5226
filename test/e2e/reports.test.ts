/** What the daemon says about itself over MQTT: stats on their cadence, status, error events. */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/daemon/config/config-load.js';
import { Daemon } from '../../src/daemon/lifecycle/daemon.js';
import { createLogger } from '../../src/daemon/lifecycle/logger.js';
import { topicsFor } from '../../src/daemon/mqtt/topics.js';
import { testDataPath } from '../../src/testdata.js';
import { FakeClassifier, fakeJpeg } from '../helpers/fake-classifier.js';
import { until } from '../helpers/fault-tools.js';
import { brokerAndScratchDir } from '../helpers/mosquitto.js';
import { Observer, type Seen } from '../helpers/mqtt-observer.js';

const log = createLogger({ level: 'silent' });
const json = (s: Seen) => JSON.parse(s.payload.toString()) as Record<string, any>;

describe('daemon reports', () => {
  const scratch = brokerAndScratchDir('coral-pipe-reports-');
  let n = 0;

  /** A daemon on a config file with the fake classifier, and an observer of all it publishes. */
  async function start(extra: string) {
    const node = `reports-${process.pid}-${++n}`;
    const file = path.join(scratch.dir, `${node}.yaml`);
    await writeFile(file, [`node: ${node}`, `mqtt: {url: "${scratch.broker.url}", topicPrefix: rp}`, `model: ${JSON.stringify(testDataPath('models/mobilenet_v2_1.0_224_quant.tflite'))}`, `cameras: {a: rp/${node}/a}`, extra, ''].join('\n'));
    const topics = topicsFor('rp', node);
    const observer = await Observer.connect(scratch.broker.url, [`rp/${node}/#`]);
    const daemon = await Daemon.start({ config: await loadConfig(file), createClassifier: async () => new FakeClassifier(), log });
    return { daemon, observer, topics, file, node };
  }

  it('keeps the stats cadence however often the config reloads', async (t) => {
    const { daemon, observer, topics } = await start('statsIntervalSeconds: 1');
    t.after(() => Promise.all([daemon.stop(), observer.close()]));
    const stats = () => observer.seen.filter((s) => s.topic === topics.stats).length;
    const before = stats();
    // Reloads far more often than the interval: each used to restart the stats timer, so none went out.
    let reloads = 0;
    const reloading = (async () => {
      while (stats() < before + 3) {
        assert.equal((await daemon.reloadFile()).ok, true);
        reloads++;
      }
    })();
    await until(() => stats() >= before + 3, () => `3 stats messages during ${reloads} reloads`, 30_000);
    await reloading;
    assert.ok(reloads > 3, `only ${reloads} reloads: the test did not reload more often than the interval`);
  });

  it('publishes the layout and a description of every device in status, and per-device figures in stats', async (t) => {
    const { daemon, observer, topics } = await start('statsIntervalSeconds: 1');
    t.after(() => Promise.all([daemon.stop(), observer.close()]));
    const status = json(await observer.next((s) => s.topic === topics.status));
    assert.deepEqual(status.layout, [{ devices: ['cpu:0'] }, { devices: ['cpu:1'] }]);
    assert.deepEqual(status.devices, { 'cpu:0': { segment: 0, type: 'cpu' }, 'cpu:1': { segment: 1, type: 'cpu' } });
    const stats = json(await observer.next((s) => s.topic === topics.stats));
    assert.deepEqual(Object.keys(stats.memory).sort(), ['arrayBuffers', 'external', 'heapTotal', 'heapUsed', 'rss']);
    assert.ok(stats.memory.rss > stats.memory.heapUsed);
    // The main thread's garbage collections since the last stats message (how many there were depends on V8).
    assert.deepEqual(Object.keys(stats.gc).sort(), ['major', 'minor', 'ms']);
    for (const n of Object.values(stats.gc)) assert.ok(typeof n === 'number' && n >= 0, JSON.stringify(stats.gc));
  });

  it('says in stats where a frame\'s time went, step by step, over the frames since the last stats message', async (t) => {
    const { daemon, observer, topics, node } = await start('statsIntervalSeconds: 1');
    t.after(() => Promise.all([daemon.stop(), observer.close()]));
    const from = observer.mark();
    for (const i of [1, 2]) {
      await observer.client.publishAsync(`rp/${node}/a`, fakeJpeg(i));
      await observer.next((s) => s.topic === topics.result('a'), 10_000, observer.mark());
    }
    // Every stats message since the frames: a tick may fall between the steps of one frame.
    const answered = observer.mark();
    await observer.next((s) => s.topic === topics.stats, 10_000, answered);
    const covering = observer.seen.slice(from).filter((s) => s.topic === topics.stats).map((s) => json(s).frameMs as Record<string, number>);
    const steps = new Set(covering.flatMap((m) => Object.keys(m)));
    assert.deepEqual([...steps].sort(), ['decode', 'inference', 'parse', 'result'], JSON.stringify(covering));
    for (const m of covering) {
      // The fake classifier reports 1 ms of decode and 2 of inference for every frame.
      if (m.decode !== undefined) assert.deepEqual([m.decode, m.inference], [1, 2]);
      if (m.result !== undefined) assert.ok(m.result > 0, JSON.stringify(m));
    }
    // The message after that one covers a time with no frame: no steps to report.
    const idle = await observer.next((s) => s.topic === topics.stats, 10_000, observer.mark());
    assert.deepEqual(json(idle).frameMs, {});
  });

  it('leaves the topics a reload moved away from saying stopped in status as in availability', async (t) => {
    const { daemon, observer, topics, file, node } = await start('');
    t.after(() => Promise.all([daemon.stop(), observer.close()]));
    await observer.nextText(topics.availability, 'online', 0);
    const moved = `${node}-moved`;
    await writeFile(file, (await readFile(file, 'utf8')).replace(`node: ${node}`, `node: ${moved}`));
    assert.equal((await daemon.reloadFile()).ok, true);
    const late = await Observer.connect(scratch.broker.url, [`rp/${node}/status`, `rp/${node}/availability`, `rp/${moved}/status`, `rp/${moved}/availability`]);
    t.after(() => late.close());
    const retained = async (topic: string) => (await late.next((s) => s.topic === topic)).payload.toString();
    assert.equal(await retained(`rp/${node}/availability`), 'stopped');
    assert.equal(JSON.parse(await retained(`rp/${node}/status`)).state, 'stopped');
    assert.equal(await retained(`rp/${moved}/availability`), 'online');
    assert.equal(JSON.parse(await retained(`rp/${moved}/status`)).state, 'running');
  });

  it('gives every error event the same fields: camera, the sequence the frame had, reason', async (t) => {
    const { daemon, observer, topics, node } = await start('');
    t.after(() => Promise.all([daemon.stop(), observer.close()]));
    const frames = `rp/${node}/a`;
    // Refused on arrival (bad base64, sequence in the JSON; not an image, sequence as a user property),
    // and refused by the classifier (sequence given, and numbered by the daemon).
    await observer.client.publishAsync(frames, JSON.stringify({ image: 'not base64!', sequence: 5 }));
    await observer.client.publishAsync(frames, 'hello', { properties: { userProperties: { sequence: '6' } } });
    await observer.client.publishAsync(frames, fakeJpeg(1, 'BROKEN'), { properties: { userProperties: { sequence: '7' } } });
    const errors = () => observer.seen.filter((s) => s.topic === topics.error('a')).map(json);
    await until(() => errors().length === 3, 'three error events');
    await observer.client.publishAsync(frames, fakeJpeg(2, 'BROKEN'));
    await until(() => errors().length === 4, 'the fourth error event');
    const got = errors();
    for (const e of got) assert.deepEqual(Object.keys(e).sort(), ['camera', 'reason', 'sequence', 'time'], JSON.stringify(e));
    assert.deepEqual(got.map((e) => [e.camera, e.sequence]), [['a', 5], ['a', 6], ['a', 7], ['a', 1]]);
    assert.match(got[0]!.reason, /"image" is not valid base64: "!" \(U\+0021\) at character 11/);
    assert.match(got[1]!.reason, /not a JPEG or PNG/);
    assert.match(got[2]!.reason, /truncated JPEG/);
  });
});
