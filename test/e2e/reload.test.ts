import assert from 'node:assert/strict';
import { watch } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import type { Notifier } from '../../src/systemd/notify.js';
import type { ClassifierFactory } from '../../src/daemon/frames/classifier.js';
import { loadConfig } from '../../src/daemon/config/config-load.js';
import { watchConfigFile } from '../../src/daemon/config/config-watch.js';
import { Daemon } from '../../src/daemon/lifecycle/daemon.js';
import { createLogger } from '../../src/daemon/lifecycle/logger.js';
import { createPipelineClassifier } from '../../src/daemon/frames/pipeline-classifier.js';
import { topicsFor } from '../../src/daemon/mqtt/topics.js';
import { testDataPath } from '../../src/testdata.js';
import { FakeClassifier, fakeJpeg } from '../helpers/fake-classifier.js';
import { brokerAndScratchDir } from '../helpers/mosquitto.js';
import { Observer, type Seen } from '../helpers/mqtt-observer.js';
import { until } from '../helpers/fault-tools.js';

const log = createLogger({ level: 'silent' });
const json = (s: Seen) => JSON.parse(s.payload.toString()) as Record<string, any>;

describe('config reload', () => {
  const scratch = brokerAndScratchDir('coral-pipe-reload-');

  let n = 0;
  /** Writes a config file for this broker; `model` and `cameras` are YAML lines. */
  async function writeConfig(file: string, model: string, cameras = `  a: rl/${process.pid}/a`): Promise<void> {
    await writeFile(file, [`node: reload-${process.pid}-${n}`, `mqtt: {url: "${scratch.broker.url}", topicPrefix: t${process.pid}, reconnectMinMs: 50}`, model, 'cameras:', cameras, ''].join('\n'));
  }

  /** A daemon with the real classifier on `file`, an observer of camera a's results, and parrot.jpg to send. */
  async function startReal(t: TestContext, file: string) {
    const config = await loadConfig(file);
    const observer = await Observer.connect(scratch.broker.url, [topicsFor(config.mqtt.topicPrefix, config.node).result('a')]);
    const daemon = await Daemon.start({ config, createClassifier: createPipelineClassifier, log });
    t.after(() => Promise.all([daemon.stop(), observer.close()]));
    return { daemon, observer, image: await readFile(testDataPath('images/parrot.jpg')) };
  }

  it('swaps to a new model: frames in the old pipeline answered by it, new frames by the new one, no reconnect', async (t) => {
    n++;
    const file = path.join(scratch.dir, `swap${n}.yaml`);
    const model = (name: string) => `model: {file: ${JSON.stringify(testDataPath('models/mobilenet_v2_1.0_224_quant.tflite'))}, name: ${name}}`;
    await writeConfig(file, model('alpha'));
    const built = new Map<string, FakeClassifier>();
    const factory: ClassifierFactory = async (config) => {
      if (config.model.name === 'broken') throw new Error('no such device usb:7');
      const c = new FakeClassifier({ model: { name: config.model.name!, hash: 'h' }, segments: 1, devices: [['cpu:0']] });
      built.set(config.model.name!, c);
      return c;
    };
    const statuses: string[] = [];
    const notifier: Notifier = { enabled: true, ready: () => {}, status: (s) => statuses.push(s), watchdog: () => {}, stopping: () => {}, send: () => {} };
    const config = await loadConfig(file);
    const topics = topicsFor(config.mqtt.topicPrefix, config.node);
    const observer = await Observer.connect(scratch.broker.url, [`${config.mqtt.topicPrefix}/${config.node}/#`]);
    const daemon = await Daemon.start({ config, createClassifier: factory, log, notifier });
    t.after(() => Promise.all([daemon.stop(), observer.close()]));
    const frame = (i: number, cam = 'a') => observer.client.publishAsync(`rl/${process.pid}/${cam}`, fakeJpeg(i));
    const results = (cam = 'a') => observer.seen.filter((s) => s.topic === topics.result(cam)).map((s) => [json(s).top[0].index, json(s).model.name]);

    const release = built.get('alpha')!.hold();
    await frame(1);
    await until(() => built.get('alpha')!.inFlight === 1, 'frame 1 in alpha');
    await writeConfig(file, model('beta'));
    assert.deepEqual(await daemon.reloadFile(), { ok: true, swappedModel: true });
    await frame(2);
    await until(() => results().length === 1, 'frame 2 answered');
    assert.equal(built.get('alpha')!.closed, false, 'alpha closed with a frame inside');
    release();
    await until(() => results().length === 2, 'frame 1 answered');
    assert.deepEqual(results(), [[2, 'beta'], [1, 'alpha']]);
    await until(() => built.get('alpha')!.closed, 'alpha to close');
    assert.equal(json(observer.seen.filter((s) => s.topic === topics.status).at(-1)!).model.name, 'beta');

    // An invalid edit: refused with file:line, on MQTT and in the systemd status; beta keeps serving.
    const text = [`node: reload-${process.pid}-${n}`, `mqtt: {url: "${scratch.broker.url}", topicPrefix: t${process.pid}, reconnectMinMs: 50}`, model('gamma'), 'topK: lots', 'cameras:', `  a: rl/${process.pid}/a`, ''].join('\n');
    await writeFile(file, text);
    const refused = await daemon.reloadFile();
    assert.equal(refused.ok, false);
    assert.match(refused.errors![0]!, new RegExp(`${path.basename(file)}:4:\\d+: topK: expected number`));
    const event = json(await observer.next((s) => s.topic === topics.events && json(s).ok === false));
    assert.match(event.errors[0], /topK/);
    assert.match(statuses.at(-1)!, /^config rejected: .*topK/);
    assert.equal(built.has('gamma'), false);
    // A pipeline that fails to build is refused the same way.
    await writeConfig(file, model('broken'));
    const failed = await daemon.reloadFile();
    assert.match(failed.errors![0]!, /failed to build: no such device/);
    await frame(3);
    await until(() => results().length === 3, 'frame 3');
    assert.deepEqual(results().at(-1), [3, 'beta']);

    // A new camera is subscribed on the live connection.
    await writeConfig(file, model('beta'), `  a: rl/${process.pid}/a\n  b: rl/${process.pid}/b`);
    assert.deepEqual(await daemon.reloadFile(), { ok: true, swappedModel: false });
    await frame(4, 'b');
    await until(() => results('b').length === 1, 'camera b');
    assert.equal(daemon.mqttStats().reconnects, 0);
  });

  it('goes to another real model and back while frames flow, answering every frame exactly once', async (t) => {
    n++;
    const file = path.join(scratch.dir, `real${n}.yaml`);
    const v2 = `model: {file: ${JSON.stringify(testDataPath('models/mobilenet_v2_1.0_224_quant.tflite'))}, segments: 2}`;
    const v1 = `model: {file: ${JSON.stringify(testDataPath('models/mobilenet_v1_0.5_160_quant.tflite'))}, segments: 2}`;
    await writeConfig(file, v2);
    const { daemon, observer, image } = await startReal(t, file);
    const sent = 24;
    // Frames 6..10 flow while the reload to v1 runs, 11..15 after it (v1 serves them), 16..20 while
    // the reload back to v2 runs, 21..24 after it: those four are v2's whichever reload was slow.
    let reloads: Promise<unknown> = Promise.resolve();
    for (let i = 1; i <= sent; i++) {
      if (i === 6) reloads = (async () => {
        await writeConfig(file, v1);
        assert.equal((await daemon.reloadFile()).ok, true);
      })();
      if (i === 11) await reloads;
      if (i === 16) reloads = (async () => {
        await writeConfig(file, v2);
        assert.equal((await daemon.reloadFile()).ok, true);
      })();
      if (i === 21) await reloads;
      // One frame at a time, so latest-wins drops none and every one must come back.
      await observer.client.publishAsync(`rl/${process.pid}/a`, image, { properties: { userProperties: { sequence: String(i) } } });
      await observer.next((s) => json(s).sequence === i, 60_000);
    }
    await reloads;
    const got = observer.seen.map(json);
    assert.deepEqual(got.map((r) => r.sequence), Array.from({ length: sent }, (_, i) => i + 1));
    const models = got.map((r) => r.model.name);
    assert.ok(models.includes('mobilenet_v1_0.5_160_quant'), 'never served by v1');
    assert.equal(models.at(-1), 'mobilenet_v2_1.0_224_quant');
    assert.equal(models[0], 'mobilenet_v2_1.0_224_quant');
    assert.equal(daemon.mqttStats().reconnects, 0);
  });

  it('refuses a model that cannot serve at its config line (deeplab, a JPEG named .tflite, labels that do not fit); the old pipeline serves on', async (t) => {
    n++;
    const file = path.join(scratch.dir, `refuse${n}.yaml`);
    const mobilenet = JSON.stringify(testDataPath('models/mobilenet_v2_1.0_224_quant.tflite'));
    await writeConfig(file, `model: {file: ${mobilenet}, labels: ${JSON.stringify(testDataPath('labels/imagenet_labels.txt'))}}`);
    const { daemon, observer, image } = await startReal(t, file);
    const answer = async (sequence: number) => {
      await observer.client.publishAsync(`rl/${process.pid}/a`, image, { properties: { userProperties: { sequence: String(sequence) } } });
      const result = json(await observer.next((s) => json(s).sequence === sequence, 60_000));
      return [result.model.name, result.top[0].label];
    };
    assert.deepEqual(await answer(1), ['mobilenet_v2_1.0_224_quant', 'macaw']);

    const jpeg = path.join(scratch.dir, 'photo.tflite');
    await writeFile(jpeg, image);
    const birds = path.join(scratch.dir, 'birds.txt');
    await writeFile(birds, Array.from({ length: 965 }, (_, i) => `bird ${i}`).join('\n'));
    const escape = (text: string) => text.replace(/[.[\]]/g, '\\$&');
    const cases: [string, string, string][] = [
      [`model: {file: ${JSON.stringify(testDataPath('models/deeplabv3_mnv2_dm05_pascal_quant.tflite'))}}`, 'model.file',
        'deeplabv3_mnv2_dm05_pascal_quant\\.tflite: cannot serve as an image classifier: output "ArgMax" has shape \\[1, 513, 513\\], not a vector of class scores'],
      [`model: {file: ${JSON.stringify(jpeg)}}`, 'model.file', `${escape(jpeg)}: invalid TFLite model at byte 4: file identifier is `],
      [`model: {file: ${mobilenet}, labels: ${JSON.stringify(birds)}}`, 'model.labels', `${escape(birds)} has 965 labels but the model's output has 1001 classes`],
    ];
    for (const [model, field, message] of cases) {
      await writeConfig(file, model);
      const refused = await daemon.reloadFile();
      assert.equal(refused.ok, false, model);
      assert.equal(refused.errors!.length, 1, refused.errors!.join('\n'));
      assert.match(refused.errors![0]!, new RegExp(`^${escape(file)}:3:\\d+: ${escape(field)}: .*${message}`));
    }
    assert.deepEqual(await answer(2), ['mobilenet_v2_1.0_224_quant', 'macaw']);
  });

  it('notices edits of the watched config file, once per burst of writes', async (t) => {
    const dir = await mkdtemp(path.join(scratch.dir, 'watched-'));
    const file = path.join(dir, 'watched.yaml');
    await writeFile(file, 'a: 1\n');
    // The debounce runs on a mocked clock, so a burst is whatever the watcher heard before the test
    // moves the clock, however slowly the writes land on a loaded machine.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let calls = 0;
    const watcher = watchConfigFile(file, () => calls++, 100);
    // A second watch on the folder hears the same events in the same order, after the watcher under
    // test: once it hears a sentinel file written last, the watcher has heard every earlier write.
    const heard = new Set<string>();
    const waiting = new Map<string, () => void>();
    const probe = watch(dir, (_event, name) => {
      if (name === null) return;
      heard.add(name.toString());
      waiting.get(name.toString())?.();
    });
    let sentinels = 0;
    const settle = async (): Promise<void> => {
      const name = `sentinel-${++sentinels}`;
      const arrived = new Promise<void>((resolve) => waiting.set(name, resolve));
      await writeFile(path.join(dir, name), 'x');
      if (!heard.has(name)) await arrived;
    };
    try {
      await writeFile(path.join(dir, 'other.yaml'), 'x');
      await settle();
      t.mock.timers.tick(1000);
      assert.equal(calls, 0, 'a write to another file in the folder was taken for an edit');

      for (let i = 0; i < 3; i++) await writeFile(file, `a: ${i}\n`);
      await settle();
      t.mock.timers.tick(99);
      assert.equal(calls, 0, 'called before the burst was 100 ms quiet');
      t.mock.timers.tick(1);
      assert.equal(calls, 1);
      // Every event of the burst was heard before the clock moved: nothing is left to call again.
      t.mock.timers.tick(10_000);
      assert.equal(calls, 1, 'one burst, more than one call');

      await writeFile(file, 'a: 4\n');
      await settle();
      t.mock.timers.tick(100);
      assert.equal(calls, 2, 'a later edit is noticed too');
    } finally {
      probe.close();
      watcher.close();
    }
  });
});
