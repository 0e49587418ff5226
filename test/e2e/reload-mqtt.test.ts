/**
 * Config reloads that change the MQTT connection, against real mosquitto brokers: the daemon opens a
 * new session beside the old one and switches over once it is connected (topics, broker, both with the
 * model), or refuses the reload and keeps the old session when the new one cannot connect.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { ClassifierFactory } from '../../src/daemon/frames/classifier.js';
import { loadConfig } from '../../src/daemon/config/config-load.js';
import { Daemon, type DaemonOptions } from '../../src/daemon/lifecycle/daemon.js';
import { createLogger } from '../../src/daemon/lifecycle/logger.js';
import { MqttSession } from '../../src/daemon/mqtt/mqtt-session.js';
import { connectBeside, retire } from '../../src/daemon/mqtt/session-switch.js';
import { topicsFor } from '../../src/daemon/mqtt/topics.js';
import { testDataPath } from '../../src/testdata.js';
import { FakeClassifier, fakeJpeg } from '../helpers/fake-classifier.js';
import { brokerAndScratchDir, freePort, Mosquitto } from '../helpers/mosquitto.js';
import { Observer, type Seen } from '../helpers/mqtt-observer.js';
import { until } from '../helpers/fault-tools.js';
import { helperScript, runProcess } from '../helpers/cli.js';

const log = createLogger({ level: 'silent' });
const json = (s: Seen) => JSON.parse(s.payload.toString()) as Record<string, any>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const child = helperScript('switch-stop-child.js');

/** A factory of fake classifiers named after `model.name`, each kept in `built` by that name. */
function fakeFactory(built: Map<string, FakeClassifier>): ClassifierFactory {
  return async (config) => {
    const c = new FakeClassifier({ model: { name: config.model.name!, hash: 'h' }, segments: 1, devices: [['cpu:0']] });
    built.set(config.model.name!, c);
    return c;
  };
}

/** The retained availability of each topic, as a client connecting now sees it. */
async function retainedAvailability(url: string, topics: string[], options = {}): Promise<string[]> {
  const fresh = await Observer.connect(url, topics, options);
  try {
    return await Promise.all(topics.map(async (topic) => (await fresh.next((s) => s.topic === topic && s.retain)).payload.toString()));
  } finally {
    await fresh.close();
  }
}

describe('config reload of the MQTT connection', () => {
  const scratch = brokerAndScratchDir('coral-pipe-reload-mqtt-');
  const frameTopic = (name: string) => `rm/${process.pid}/${name}`;

  interface Setup {
    readonly url: string;
    readonly prefix: string;
    readonly node: string;
    /** More flow-style mqtt fields, e.g. `username: cam, passwordFile: pw`. */
    readonly mqtt?: string;
    readonly model?: string;
  }

  /** Writes the config for `s`; the camera `a` reads `frameTopic(name)`. */
  async function writeConfig(name: string, s: Setup): Promise<string> {
    const file = path.join(scratch.dir, `${name}.yaml`);
    const model = `{file: ${JSON.stringify(testDataPath('models/mobilenet_v2_1.0_224_quant.tflite'))}, name: ${s.model ?? 'alpha'}}`;
    const mqtt = `{url: "${s.url}", topicPrefix: ${s.prefix}, reconnectMinMs: 50, reconnectMaxMs: 200${s.mqtt ? `, ${s.mqtt}` : ''}}`;
    await writeFile(file, [`node: ${s.node}`, `mqtt: ${mqtt}`, `model: ${model}`, 'cameras:', `  a: ${frameTopic(name)}`, ''].join('\n'));
    return file;
  }

  async function startDaemon(file: string, built: Map<string, FakeClassifier>, more: Partial<DaemonOptions> = {}): Promise<Daemon> {
    return Daemon.start({ config: await loadConfig(file), createClassifier: fakeFactory(built), log, mqttSwitchTimeoutMs: 5000, ...more });
  }

  it('moves to a new topic prefix, then a new node, while frames flow: each taken frame answered once, on the topics in force', async (t) => {
    const pid = process.pid;
    const first: Setup = { url: scratch.broker.url, prefix: `p1x${pid}`, node: `n1x${pid}` };
    const file = await writeConfig('topics', first);
    const [t1, t2, t3] = [topicsFor(first.prefix, first.node), topicsFor(`p2x${pid}`, first.node), topicsFor(`p2x${pid}`, `n2x${pid}`)];
    const observer = await Observer.connect(scratch.broker.url, [`p1x${pid}/#`, `p2x${pid}/#`]);
    const built = new Map<string, FakeClassifier>();
    const daemon = await startDaemon(file, built);
    t.after(() => Promise.all([daemon.stop(), observer.close()]));
    let sent = 0;
    const frame = () => {
      sent++;
      return observer.client.publishAsync(frameTopic('topics'), fakeJpeg(sent % 256), { properties: { userProperties: { sequence: String(sent) } } });
    };

    // Frame 1 sits in the pipeline across the switch.
    const release = built.get('alpha')!.hold();
    await frame();
    await until(() => built.get('alpha')!.inFlight === 1, 'frame 1 in the pipeline');
    let flowing = true;
    const flow = (async () => {
      while (flowing) {
        await frame();
        await sleep(5);
      }
    })();
    await until(() => sent >= 10, 'frames flowing');

    // Same broker and client id: the broker moves the connection to the new session.
    await writeConfig('topics', { ...first, prefix: `p2x${pid}` });
    assert.deepEqual(await daemon.reloadFile(), { ok: true, swappedModel: false, switchedMqtt: true });
    release();
    const answer1 = await observer.next((s) => s.topic.endsWith('/result') && json(s).sequence === 1);
    assert.equal(answer1.topic, t2.result('a'), 'frame 1 is answered on the topics in force when it finishes');
    const afterFirst = sent;
    await observer.next((s) => s.topic === t2.result('a') && json(s).sequence > afterFirst);

    // A new node: a new client id (coral-pipe-<node>), so both sessions are on the broker for a while.
    await writeConfig('topics', { ...first, prefix: `p2x${pid}`, node: `n2x${pid}` });
    assert.deepEqual(await daemon.reloadFile(), { ok: true, swappedModel: false, switchedMqtt: true });
    const afterSecond = sent;
    await observer.next((s) => s.topic === t3.result('a') && json(s).sequence > afterSecond);
    flowing = false;
    await flow;
    // A sentinel frame after the flow: once it is answered, so is every frame taken before it (one
    // camera's frames are answered in order), so no second answer to any of them is still on its way.
    await frame();
    const sentinel = sent;
    await observer.next((s) => s.topic === t3.result('a') && json(s).sequence === sentinel);

    const results = () => observer.seen.filter((s) => s.topic.endsWith('/camera/a/result'));
    const totals = () => daemon.cameraTotals('a')!;
    await until(() => totals().received === totals().answered + totals().dropped + totals().expired && results().length === totals().answered, 'every taken frame answered');
    const sequences = results().map((s) => json(s).sequence as number);
    assert.equal(new Set(sequences).size, sequences.length, `a frame answered twice: ${sequences.join(',')}`);
    assert.equal(totals().errors, 0);
    assert.ok(totals().answered > 3);
    for (const s of results()) assert.notEqual(s.topic, t1.result('a'), 'answered on the first topics after they were left');

    assert.deepEqual(await retainedAvailability(scratch.broker.url, [t1.availability, t2.availability, t3.availability]), ['stopped', 'stopped', 'online']);
    assert.equal(json(await observer.next((s) => s.topic === t2.events)).switchedMqtt, true);
    assert.equal(json(await observer.next((s) => s.topic === t3.events)).switchedMqtt, true);
    assert.equal(json(await observer.next((s) => s.topic === t3.status)).node, `n2x${pid}`);
    assert.equal(daemon.mqttStats().connected, true);
  });

  it('moves to another broker and a new model in one reload: answers continue from the new broker', async (t) => {
    const other = await Mosquitto.start();
    t.after(() => other.close());
    const first: Setup = { url: scratch.broker.url, prefix: `b${process.pid}`, node: `broker-move` };
    const file = await writeConfig('move', first);
    const topics = topicsFor(first.prefix, first.node);
    const [onOld, onNew] = await Promise.all([Observer.connect(scratch.broker.url, [`${first.prefix}/#`]), Observer.connect(other.url, [`${first.prefix}/#`])]);
    const built = new Map<string, FakeClassifier>();
    const daemon = await startDaemon(file, built);
    t.after(() => Promise.all([daemon.stop(), onOld.close(), onNew.close()]));
    const release = built.get('alpha')!.hold();
    await onOld.client.publishAsync(frameTopic('move'), fakeJpeg(1));
    await until(() => built.get('alpha')!.inFlight === 1, 'frame 1 in the pipeline');

    await writeConfig('move', { ...first, url: other.url, model: 'beta' });
    assert.deepEqual(await daemon.reloadFile(), { ok: true, swappedModel: true, switchedMqtt: true });
    await onOld.nextText(topics.availability, 'stopped');
    release();
    const held = json(await onNew.next((s) => s.topic === topics.result('a')));
    assert.deepEqual([held.top[0].index, held.model.name], [1, 'alpha'], 'the frame taken before the switch, answered by its pipeline on the new broker');
    await onNew.client.publishAsync(frameTopic('move'), fakeJpeg(2));
    const fresh = json(await onNew.next((s) => s.topic === topics.result('a') && json(s).top[0].index === 2));
    assert.equal(fresh.model.name, 'beta');
    assert.deepEqual(onOld.seen.filter((s) => s.topic === topics.result('a')), [], 'answers went to the old broker');
    assert.equal(daemon.cameraTotals('a')!.answered, 2);
    await until(() => built.get('alpha')!.closed, 'the old pipeline to close');
    assert.deepEqual(await retainedAvailability(other.url, [topics.availability]), ['online']);
    assert.deepEqual(await retainedAvailability(scratch.broker.url, [topics.availability]), ['stopped']);
    assert.equal(json(await onNew.next((s) => s.topic === topics.status)).model.name, 'beta');
  });

  it('refuses a reload to an unreachable broker, naming it (never the password); the old session and pipeline serve on', async (t) => {
    const first: Setup = { url: scratch.broker.url, prefix: `u${process.pid}`, node: 'unreachable' };
    const file = await writeConfig('unreachable', first);
    const topics = topicsFor(first.prefix, first.node);
    const observer = await Observer.connect(scratch.broker.url, [`${first.prefix}/#`]);
    const built = new Map<string, FakeClassifier>();
    // The reload gives up after mqttSwitchTimeoutMs, and its error names the connection's last error:
    // long enough for the refusal to have come back on a loaded machine.
    const daemon = await startDaemon(file, built, { mqttSwitchTimeoutMs: 3000 });
    t.after(() => Promise.all([daemon.stop(), observer.close()]));
    const port = await freePort();

    await writeConfig('unreachable', { ...first, url: `mqtt://cam:s3cret@127.0.0.1:${port}`, prefix: 'elsewhere', model: 'beta' });
    const outcome = await daemon.reloadFile();
    assert.equal(outcome.ok, false);
    assert.equal(outcome.errors!.length, 1);
    const error = outcome.errors![0]!;
    assert.match(error, new RegExp(`^cannot connect to MQTT broker mqtt://cam:\\*\\*\\*@127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
    assert.doesNotMatch(error, /s3cret/);
    assert.equal(json(await observer.next((s) => s.topic === topics.events && json(s).ok === false)).errors[0], error);
    assert.equal(built.get('beta')!.closed, true, 'the pipeline built for the refused config was closed');

    await observer.client.publishAsync(frameTopic('unreachable'), fakeJpeg(3));
    const answer = json(await observer.next((s) => s.topic === topics.result('a')));
    assert.deepEqual([answer.top[0].index, answer.model.name], [3, 'alpha']);
    assert.deepEqual(daemon.mqttStats(), { connected: true, protocolVersion: 5, reconnects: 0, buffered: 0, dropped: 0 });
    assert.deepEqual(await retainedAvailability(scratch.broker.url, [topics.availability]), ['online']);
  });

  it('refuses a reload whose password the broker rejects; the old connection is never dropped', async (t) => {
    const secured = await Mosquitto.start({ users: { cam: 'right-pass' } });
    t.after(() => secured.close());
    const first: Setup = { url: secured.url, prefix: `w${process.pid}`, node: 'password', mqtt: 'username: cam, passwordFile: pw' };
    await writeFile(path.join(scratch.dir, 'pw'), 'right-pass\n');
    const file = await writeConfig('password', first);
    const topics = topicsFor(first.prefix, first.node);
    const credentials = { username: 'cam', password: 'right-pass' };
    const observer = await Observer.connect(secured.url, [`${first.prefix}/#`], credentials);
    // As above: time for the broker's refusal of the login to come back before the reload gives up.
    const daemon = await startDaemon(file, new Map(), { mqttSwitchTimeoutMs: 3000 });
    t.after(() => Promise.all([daemon.stop(), observer.close()]));

    // Same broker, same client id: a login the broker accepted would take the connection over.
    await writeFile(path.join(scratch.dir, 'pw'), 'wrong-pass\n');
    const outcome = await daemon.reloadFile();
    assert.equal(outcome.ok, false);
    assert.match(outcome.errors![0]!, new RegExp(`^cannot connect to MQTT broker ${secured.url}: .*(Not authorized|Bad User Name or Password)`, 'i'));
    assert.doesNotMatch(outcome.errors![0]!, /wrong-pass/);
    await observer.next((s) => s.topic === topics.events && json(s).ok === false);

    await observer.client.publishAsync(frameTopic('password'), fakeJpeg(4));
    assert.equal(json(await observer.next((s) => s.topic === topics.result('a'))).top[0].index, 4);
    assert.equal(daemon.mqttStats().reconnects, 0);
    assert.deepEqual(await retainedAvailability(secured.url, [topics.availability], credentials), ['online']);
  });

  it('with one client id on one broker, the old session leaves the connection to the new one, whose answers include the old one\'s unsent', async (t) => {
    const url = scratch.broker.url;
    const connection = (prefix: string) => {
      const topics = topicsFor(prefix, 'same-id');
      const session = new MqttSession({
        url, clientId: `same-id-${process.pid}`, keepalive: 30, availabilityTopic: topics.availability, subscriptions: [],
        reconnectMinMs: 10, reconnectMaxMs: 20, maxBufferedMessages: 10, log, onMessage: () => {},
      });
      return { session, topics };
    };
    const [old, next] = [connection(`h1x${process.pid}`), connection(`h2x${process.pid}`)];
    const observer = await Observer.connect(url, [`h1x${process.pid}/#`, `h2x${process.pid}/#`]);
    t.after(() => Promise.all([old.session.stop(), next.session.stop(), observer.close()]));
    await old.session.start();
    await connectBeside(old, next, 5000, new AbortController().signal);
    await until(() => !old.session.stats().connected, 'the broker to drop the old connection');
    old.session.publish({ topic: `h1x${process.pid}/late`, payload: 'answer', qos: 1 });
    // The old session's reconnect comes due (its retry timer fired) and is held, not made: had it
    // reconnected, it would have taken the client id back. The session does not say so in public, so
    // the test reads the flag it sets then.
    await until(() => (old.session as unknown as { reconnectDue: boolean }).reconnectDue, "the old session's reconnect to come due and be held");
    assert.deepEqual([old.session.stats().connected, next.session.stats().connected, next.session.stats().reconnects], [false, true, 0]);

    await retire(old, next);
    await observer.nextText(`h1x${process.pid}/late`, 'answer');
    assert.deepEqual(await retainedAvailability(url, [old.topics.availability, next.topics.availability]), ['stopped', 'online']);
  });

  it('stop() while a reload waits for its new connection returns at once, and the process exits by itself', async () => {
    const file = await writeConfig('stop', { url: scratch.broker.url, prefix: `s${process.pid}`, node: 'stop' });
    // The child's switch timeout is 120 s: exiting well before it means stop() did not wait for it.
    const { code, stdout: out, stderr } = await runProcess(process.execPath, [child, file, scratch.broker.url], { timeout: 30_000, killSignal: 'SIGKILL' });
    assert.equal(out, `${JSON.stringify({ ok: false, errors: ['daemon is stopping'] })}\nstopped\n`, stderr);
    assert.equal(code, 0, `the daemon process was still running 30 s after the reload began, or it failed: ${stderr}`);
  });
});
