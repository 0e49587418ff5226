/**
 * Fault injection on `coral-pipe daemon` as its own process, under full load from four cameras: the
 * config file replaced by a broken one, and SIGTERM.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import sharp from 'sharp';
import { topicsFor, type Topics } from '../../src/daemon/mqtt/topics.js';
import { testDataPath } from '../../src/testdata.js';
import { streamFrames, until } from '../helpers/fault-tools.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { Observer, type Seen } from '../helpers/mqtt-observer.js';
import { cliPath } from '../helpers/cli.js';

const cli = cliPath;
const json = (s: Seen) => JSON.parse(s.payload.toString()) as Record<string, any>;
const CAMS = ['a', 'b', 'c', 'd'];

interface Running {
  readonly child: ChildProcess;
  readonly file: string;
  readonly topics: Topics;
  readonly observer: Observer;
  readonly output: () => string;
  readonly exit: Promise<{ code: number | null; at: number }>;
  results(from?: number): Seen[];
}

describe('coral-pipe daemon under load', () => {
  let broker: Mosquitto;
  let dir: string;
  let jpeg: Buffer;
  before(async () => {
    broker = await Mosquitto.start();
    dir = await mkdtemp(path.join(tmpdir(), 'coral-pipe-fault-cli-'));
    jpeg = await sharp(testDataPath('images/cat_720p.jpg')).resize(320, 240).jpeg().toBuffer();
  });
  after(async () => {
    await broker.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Starts the daemon on mobilenet v1 in 2 segments and streams frames from 4 cameras until the test ends. */
  async function start(t: TestContext, name: string): Promise<Running> {
    const node = `${name}-${process.pid}`;
    const file = path.join(dir, `${name}.yaml`);
    await writeFile(
      file,
      [
        `node: ${node}`,
        `mqtt: {url: "${broker.url}", topicPrefix: fault, reconnectMinMs: 50}`,
        `model: {file: ${JSON.stringify(testDataPath('models/mobilenet_v1_0.25_128_quant.tflite'))}, segments: 2, labels: ${JSON.stringify(testDataPath('labels/imagenet_labels.txt'))}}`,
        'cameras:',
        ...CAMS.map((c) => `  ${c}: fault/${name}/${c}`),
        '',
      ].join('\n'),
    );
    const topics = topicsFor('fault', node);
    const observer = await Observer.connect(broker.url, [`fault/${node}/#`]);
    const child = spawn(process.execPath, [cli, 'daemon', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exit = new Promise<{ code: number | null; at: number }>((resolve) => child.once('exit', (code) => resolve({ code, at: performance.now() })));
    const stream = streamFrames(observer.client, CAMS.map((c) => `fault/${name}/${c}`), () => jpeg, 10);
    t.after(async () => {
      stream.stop();
      child.kill('SIGKILL');
      await observer.close();
    });
    // A new process loading its model while the cameras stream: allow a loaded machine a minute.
    await observer.nextText(topics.availability, 'online', 0, 60_000).catch((err: Error) => {
      throw new Error(`${err.message}\ndaemon output:\n${out}`);
    });
    const results = (from = 0) => observer.seen.slice(from).filter((s) => CAMS.some((c) => s.topic === topics.result(c)));
    return { child, file, topics, observer, output: () => out, exit, results };
  }

  it('keeps serving with the old pipeline when the config file is replaced by a truncated or invalid one, and publishes why', async (t) => {
    const d = await start(t, 'badconfig');
    await until(() => d.results().length >= 20, '20 results', 60_000);
    const hash = json(d.results()[0]!).model.hash;
    const good = await readFile(d.file, 'utf8');
    /** Replaces the file the way editors and config management do: a new file renamed over it. */
    const replace = async (text: string) => {
      await writeFile(`${d.file}.new`, text);
      await rename(`${d.file}.new`, d.file);
    };
    const refusal = async (from: number) => json(await d.observer.next((s) => s.topic === d.topics.events && json(s).event === 'reload', 10_000, from));

    let from = d.observer.seen.length;
    // Cut in the middle of the model line: the YAML no longer parses.
    await replace(good.slice(0, good.indexOf('model:') + 20));
    const truncated = await refusal(from);
    assert.equal(truncated.ok, false);
    assert.ok(truncated.errors.length > 0 && truncated.errors.every((e: string) => e.startsWith(d.file)), JSON.stringify(truncated.errors));
    await until(() => d.results(from).length >= 20, '20 results after the truncated config', 30_000);
    assert.ok(d.results(from).every((s) => json(s).model.hash === hash));

    from = d.observer.seen.length;
    await replace(`${good}limits: {queueDepth: 0}\n`);
    const invalid = await refusal(from);
    assert.equal(invalid.ok, false);
    assert.match(invalid.errors.join('\n'), /limits\.queueDepth: .*at least 1/);
    await until(() => d.results(from).length >= 20, '20 results after the invalid config', 30_000);
    const late = await Observer.connect(broker.url, [d.topics.status]);
    try {
      assert.equal(json(await late.next((s) => s.topic === d.topics.status)).state, 'running');
    } finally {
      await late.close();
    }
    const lines = d.output().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines.filter((l) => l.event === 'reload' && Array.isArray(l.errors)).length, 2, 'two refusals logged');
  });

  it('SIGTERM under full load: stops within 5 s, exit 0, `stopped` retained, every result complete JSON', async (t) => {
    const d = await start(t, 'sigterm');
    await until(() => d.results().length >= 40, '40 results', 60_000);
    const from = d.observer.seen.length;
    await until(() => d.results(from).length >= 4, 'results still flowing');
    const signalledAt = performance.now();
    d.child.kill('SIGTERM');
    const { code, at } = await d.exit;
    const stopMs = at - signalledAt;
    console.log(`SIGTERM under load: exited ${Math.round(stopMs)} ms after the signal, ${d.results().length} results received`);
    assert.equal(code, 0, d.output().slice(-2000));
    assert.ok(stopMs < 5000, `stop took ${Math.round(stopMs)} ms`);
    await d.observer.nextText(d.topics.availability, 'stopped');
    const late = await Observer.connect(broker.url, [d.topics.availability]);
    try {
      assert.equal((await late.next((s) => s.topic === d.topics.availability && s.retain)).payload.toString(), 'stopped');
    } finally {
      await late.close();
    }
    for (const s of d.results()) {
      const r = json(s);
      assert.ok(CAMS.includes(r.camera) && Number.isInteger(r.sequence) && r.top.length === 5 && typeof r.latencyMs.total === 'number', s.payload.toString());
    }
    const lines = d.output().trim().split('\n');
    for (const line of lines) JSON.parse(line);
    assert.equal(JSON.parse(lines.at(-1)!).event, 'stopped');
  });
});
