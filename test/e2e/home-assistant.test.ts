/**
 * Home Assistant MQTT discovery against a real mosquitto: off by default, retained configs per camera
 * whose templates read fields the daemon really publishes, republished on Home Assistant's birth
 * message, and kept in step with config reloads; plus the config checks of the discovery prefix.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { problemsOf } from '../helpers/config-problems.js';
import { loadConfig, type DaemonConfig } from '../../src/daemon/config/config-load.js';
import { parseConfigText } from '../../src/daemon/config/config-parse.js';
import { Daemon } from '../../src/daemon/lifecycle/daemon.js';
import { createLogger } from '../../src/daemon/lifecycle/logger.js';
import { testDaemonConfig } from '../helpers/daemon-config.js';
import { FakeClassifier, fakeJpeg } from '../helpers/fake-classifier.js';
import { brokerAndScratchDir } from '../helpers/mosquitto.js';
import { Observer, type Seen } from '../helpers/mqtt-observer.js';

const log = createLogger({ level: 'silent' });
const json = (s: Seen) => JSON.parse(s.payload.toString()) as Record<string, any>;

type Path = (string | number)[];

/** The `value_json` paths a Home Assistant template reads, in order: `value_json.top[0].label` -> ['top', 0, 'label']. */
function templatePaths(template: string): Path[] {
  const paths = [...template.matchAll(/value_json((?:\.[A-Za-z_]\w*|\[\d+\])+)/g)].map((m) =>
    [...m[1]!.matchAll(/\.([A-Za-z_]\w*)|\[(\d+)\]/g)].map((k) => k[1] ?? Number(k[2])),
  );
  assert.ok(paths.length > 0, `no value_json path in ${template}`);
  return paths;
}

const at = (value: unknown, p: Path): unknown => p.reduce<any>((v, k) => v?.[k], value);

/** Asserts that every field `templates` read exists in `payload`, as Home Assistant would read it. */
function assertReadable(payload: unknown, ...templates: string[]): void {
  for (const template of templates)
    for (const p of templatePaths(template)) assert.notEqual(at(payload, p), undefined, `${p.join('.')} (read by ${template}) is missing from ${JSON.stringify(payload)}`);
}

/**
 * What the broker retains under `filter` (ending in /#) now: a fresh client subscribes, then sends
 * itself a marker under the same filter, which arrives only after the retained messages.
 */
async function retainedUnder(url: string, filter: string): Promise<Map<string, string>> {
  const fresh = await Observer.connect(url, [filter]);
  try {
    const marker = `${filter.slice(0, -1)}marker-${process.pid}`;
    await fresh.client.publishAsync(marker, 'end', { qos: 1 });
    await fresh.nextText(marker, 'end');
    return new Map(fresh.seen.filter((s) => s.retain).map((s) => [s.topic, s.payload.toString()]));
  } finally {
    await fresh.close();
  }
}

describe('Home Assistant discovery (fake classifier, real mosquitto)', () => {
  const scratch = brokerAndScratchDir('coral-pipe-ha-');
  const frameTopic = (cam: string) => `ha/${process.pid}/${cam}`;

  /** A daemon with cameras a and b, an observer of its own topics and of `homeassistant/sensor/<node>/`. */
  async function setup(t: TestContext, extraYaml = '') {
    const config = await testDaemonConfig(scratch.broker.url, `cameras:\n  a: ${frameTopic('a')}\n  b: ${frameTopic('b')}\n${extraYaml}`);
    const own = `${config.mqtt.topicPrefix}/${config.node}`;
    const discovery = `homeassistant/sensor/${config.node}`;
    const observer = await Observer.connect(scratch.broker.url, [`${own}/#`, `${discovery}/#`]);
    const daemon = await Daemon.start({ config, createClassifier: async () => new FakeClassifier(), log });
    t.after(() => Promise.all([daemon.stop(), observer.close()]));
    await observer.nextText(`${own}/availability`, 'online');
    return { config, own, discovery, observer };
  }

  it('publishes nothing for Home Assistant unless discovery is enabled', async (t) => {
    const { own } = await setup(t);
    const everything = await Observer.connect(scratch.broker.url, ['homeassistant/#', `${own}/camera/a/result`]);
    t.after(() => everything.close());
    // Not subscribed to the birth topic either: an `online` there must change nothing. The frame comes
    // from the same client after it, and its result goes to the same client as anything under
    // homeassistant/: whatever the daemon published before the result (and `online`) is here by then.
    await everything.client.publishAsync('homeassistant/status', 'online', { qos: 1 });
    await everything.client.publishAsync(frameTopic('a'), fakeJpeg(3), { qos: 1 });
    await everything.next((s) => s.topic === `${own}/camera/a/result`);
    assert.deepEqual(everything.seen.filter((s) => s.topic.startsWith('homeassistant/')).map((s) => s.topic), ['homeassistant/status']);
    assert.equal((await retainedUnder(scratch.broker.url, 'homeassistant/#')).size, 0);
  });

  it('announces a sensor per camera whose templates read what the daemon publishes, and again when Home Assistant says online', async (t) => {
    const { config, own, discovery, observer } = await setup(t, 'homeAssistant:\n  discovery: true');
    const retained = await retainedUnder(scratch.broker.url, `${discovery}/#`);
    const cameraTopics = [`${discovery}/camera_a/config`, `${discovery}/camera_b/config`];
    const pipelineTopic = `${discovery}/pipeline/config`;
    assert.deepEqual([...retained.keys()].sort(), [...cameraTopics, pipelineTopic].sort());
    const configs = new Map([...retained].map(([topic, text]) => [topic, JSON.parse(text) as Record<string, any>]));

    for (const [cam, topic] of [['a', cameraTopics[0]!], ['b', cameraTopics[1]!]] as const) {
      const c = configs.get(topic)!;
      assert.equal(c.state_topic, `${own}/camera/${cam}/result`);
      assert.equal(c.json_attributes_topic, `${own}/camera/${cam}/result`);
      assert.match(c.unique_id, new RegExp(`${config.node}.*${cam}$`));
    }
    for (const c of configs.values()) {
      assert.equal(c.availability.length, 1);
      assert.equal(c.availability[0].topic, `${own}/availability`);
      assert.equal(c.availability[0].payload_available, 'online');
      assert.match(c.default_entity_id, /^sensor\.[a-z0-9_]+$/);
      assert.deepEqual(c.device, configs.get(pipelineTopic)!.device, 'one device for the appliance');
      assert.ok(c.device.identifiers.some((id: string) => id.includes(config.node)));
      assert.equal(c.device.model, 'coral-pipe');
      assert.equal(c.origin.name, 'coral-pipe');
    }
    assert.equal(new Set([...configs.values()].map((c) => c.unique_id)).size, configs.size, 'unique ids are unique');

    // The state Home Assistant would show is the top-1 label of a real result; every attribute field exists.
    await observer.client.publishAsync(frameTopic('a'), fakeJpeg(42));
    const result = json(await observer.next((s) => s.topic === `${own}/camera/a/result`));
    const camera = configs.get(cameraTopics[0]!)!;
    assertReadable(result, camera.value_template, camera.json_attributes_template);
    assert.equal(at(result, templatePaths(camera.value_template)[0]!), 'fake-42');
    const pipeline = configs.get(pipelineTopic)!;
    assert.equal(pipeline.state_topic, `${own}/status`);
    const status = json(await observer.next((s) => s.topic === `${own}/status`));
    assertReadable(status, pipeline.value_template, pipeline.json_attributes_template);
    assert.equal(at(status, templatePaths(pipeline.value_template)[0]!), 'running');

    // Home Assistant restarting: its birth message makes every config go out again.
    const from = observer.seen.length;
    await observer.client.publishAsync('homeassistant/status', 'online', { qos: 1 });
    for (const topic of [...cameraTopics, pipelineTopic]) {
      const again = await observer.next((s) => s.topic === topic, 10_000, from);
      assert.deepEqual(JSON.parse(again.payload.toString()), configs.get(topic));
    }
  });

  it('follows reloads: a removed camera is deleted, an added one announced, a new node moves every entity', async (t) => {
    const file = path.join(scratch.dir, 'reload.yaml');
    const nodes = [`ha-${process.pid}-one`, `ha-${process.pid}-two`];
    const write = (node: string, cameras: string[]) =>
      writeFile(file, [
        `node: ${node}`,
        `mqtt: {url: "${scratch.broker.url}", topicPrefix: t${process.pid}, reconnectMinMs: 50}`,
        'model: {file: m.tflite}',
        'homeAssistant: {discovery: true}',
        'cameras:',
        ...cameras.map((c) => `  ${c}: ${frameTopic(c)}`),
        '',
      ].join('\n'));
    await writeFile(path.join(scratch.dir, 'm.tflite'), 'not read: the classifier is a fake');
    await write(nodes[0]!, ['a', 'b']);
    const config: DaemonConfig = await loadConfig(file);
    const discovery = (node: string) => `homeassistant/sensor/${node}`;
    const observer = await Observer.connect(scratch.broker.url, nodes.map((n) => `${discovery(n)}/#`));
    const daemon = await Daemon.start({ config, createClassifier: async () => new FakeClassifier(), log });
    t.after(() => Promise.all([daemon.stop(), observer.close()]));
    const [one, two] = nodes.map(discovery) as [string, string];
    await observer.next((s) => s.topic === `${one}/camera_b/config`);

    await write(nodes[0]!, ['a', 'c']);
    assert.equal((await daemon.reloadFile()).ok, true);
    // An empty retained payload is how Home Assistant is told to delete an entity.
    await observer.next((s) => s.topic === `${one}/camera_b/config` && s.payload.length === 0);
    const added = JSON.parse((await observer.next((s) => s.topic === `${one}/camera_c/config`)).payload.toString());
    assert.equal(added.state_topic, `t${process.pid}/${nodes[0]}/camera/c/result`);
    assert.deepEqual([...(await retainedUnder(scratch.broker.url, `${one}/#`)).keys()].sort(), [`${one}/camera_a/config`, `${one}/camera_c/config`, `${one}/pipeline/config`]);

    // A new node is a new MQTT session: the old node's entities are deleted, the new ones read the new topics.
    await write(nodes[1]!, ['a', 'c']);
    assert.deepEqual(await daemon.reloadFile(), { ok: true, swappedModel: false, switchedMqtt: true });
    const moved = JSON.parse((await observer.next((s) => s.topic === `${two}/camera_a/config`)).payload.toString());
    assert.equal(moved.state_topic, `t${process.pid}/${nodes[1]}/camera/a/result`);
    assert.equal(moved.availability[0].topic, `t${process.pid}/${nodes[1]}/availability`);
    const left = await retainedUnder(scratch.broker.url, `${one}/#`);
    assert.deepEqual([...left.keys()], [], `left behind under ${one}: ${[...left.keys()].join(', ')}`);
    assert.equal((await retainedUnder(scratch.broker.url, `${two}/#`)).size, 3);
  });
});

describe('homeAssistant config', () => {
  const base = 'model: m.tflite\ncameras:\n  a: cams/a\n';

  it('is off by default, under homeassistant', () => {
    assert.deepEqual(parseConfigText(base, 'c.yaml').homeAssistant, { discovery: false, discoveryPrefix: 'homeassistant' });
    assert.deepEqual(parseConfigText(`${base}homeAssistant: {discovery: true, discoveryPrefix: ha/site-1}\n`, 'c.yaml').homeAssistant, {
      discovery: true,
      discoveryPrefix: 'ha/site-1',
    });
  });

  it('refuses a discovery prefix with wildcards or empty levels, naming the field and line', () => {
    for (const prefix of ['ha/+', 'ha/#', '#', 'ha//x', '/ha', 'ha/', '']) {
      const problems = problemsOf(`${base}homeAssistant:\n  discovery: true\n  discoveryPrefix: "${prefix}"\n`);
      const p = problems.find((q) => q.path === 'homeAssistant.discoveryPrefix');
      assert.ok(p, `"${prefix}": ${JSON.stringify(problems)}`);
      assert.equal(p.line, 6);
      assert.match(p.message, /discovery prefix must be non-empty topic levels .*"\+", "#".*empty levels/);
    }
  });

  it("refuses a camera topic that is Home Assistant's status topic while discovery is on", () => {
    const text = 'model: m.tflite\ncameras:\n  a: [cams/a, ha/status]\nhomeAssistant: {discovery: true, discoveryPrefix: ha}\n';
    const p = problemsOf(text).find((q) => q.path === 'cameras.a.topics[1]');
    assert.ok(p);
    assert.match(p.message, /"ha\/status" is where Home Assistant announces itself/);
    assert.doesNotThrow(() => parseConfigText(text.replace('discovery: true', 'discovery: false'), 'c.yaml'));
  });
});
