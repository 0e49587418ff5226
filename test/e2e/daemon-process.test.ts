/** `coral-pipe daemon` as systemd runs it: its own process, JSON logs on stdout, signals. */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { EXIT_CONFIG } from '../../src/daemon/lifecycle/service.js';
import { topicsFor } from '../../src/daemon/mqtt/topics.js';
import { testDataPath } from '../../src/testdata.js';
import { brokerAndScratchDir } from '../helpers/mosquitto.js';
import { Observer } from '../helpers/mqtt-observer.js';
import { cliPath } from '../helpers/cli.js';

const cli = cliPath;

describe('coral-pipe daemon', () => {
  const scratch = brokerAndScratchDir('coral-pipe-cli-');

  async function start(name: string): Promise<{ child: ChildProcess; stdout: () => string; exit: Promise<number | null>; file: string; topics: ReturnType<typeof topicsFor>; observer: Observer }> {
    const file = path.join(scratch.dir, `${name}.yaml`);
    await writeFile(
      file,
      [
        `node: ${name}-${process.pid}`,
        `mqtt: {url: "${scratch.broker.url}", topicPrefix: cli}`,
        `model: {file: ${JSON.stringify(testDataPath('models/mobilenet_v2_1.0_224_quant.tflite'))}, segments: 2, labels: ${JSON.stringify(testDataPath('labels/imagenet_labels.txt'))}}`,
        `cameras: {front: cli/${name}/front}`,
        '',
      ].join('\n'),
    );
    const topics = topicsFor('cli', `${name}-${process.pid}`);
    const observer = await Observer.connect(scratch.broker.url, [`cli/${name}-${process.pid}/#`]);
    const child = spawn(process.execPath, [cli, 'daemon', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    // A new process loading mobilenet v2 in 2 segments: allow a loaded machine a minute.
    await observer.nextText(topics.availability, 'online', 0, 60_000).catch((err: Error) => {
      child.kill('SIGKILL');
      throw new Error(`${err.message}\ndaemon output:\n${out}`);
    });
    return { child, stdout: () => out, exit, file, topics, observer };
  }

  it('serves frames, logs JSON with event fields, reloads on SIGHUP, says stopped and exits 0 on SIGTERM', async () => {
    const d = await start('term');
    try {
      await d.observer.client.publishAsync('cli/term/front', await readFile(testDataPath('images/bird.png')));
      const result = JSON.parse((await d.observer.next((s) => s.topic === d.topics.result('front'), 60_000)).payload.toString());
      assert.equal(result.top[0].label, 'chickadee');
      const text = await readFile(d.file, 'utf8');
      await writeFile(d.file, text.replace('segments: 2', 'segments: 3'));
      d.child.kill('SIGHUP');
      const reload = JSON.parse((await d.observer.next((s) => s.topic === d.topics.events, 60_000)).payload.toString());
      assert.equal(reload.ok, true);
      assert.equal(reload.swappedModel, true);
      d.child.kill('SIGTERM');
      assert.equal(await d.exit, 0);
      await d.observer.nextText(d.topics.availability, 'stopped');
      const lines = d.stdout().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      const events = lines.map((l) => l.event);
      for (const e of ['pipeline-built', 'mqtt-connected', 'ready', 'reload', 'signal', 'stopped']) assert.ok(events.includes(e), `no ${e} log line in ${events.join(',')}`);
      assert.ok(lines.every((l) => typeof l.level === 'number' && typeof l.msg === 'string'));
    } finally {
      d.child.kill('SIGKILL');
      await d.observer.close();
    }
  });

  it('leaves the last will `offline` when killed', async () => {
    const d = await start('kill');
    try {
      d.child.kill('SIGKILL');
      await d.exit;
      await d.observer.nextText(d.topics.availability, 'offline');
    } finally {
      await d.observer.close();
    }
  });

  it('refuses to start on an invalid config, naming file, line and field', async () => {
    const file = path.join(scratch.dir, 'bad.yaml');
    await writeFile(file, 'model: m.tflite\ncameras:\n  front: x\nlimits:\n  queueDepth: 0\n');
    const child = spawn(process.execPath, [cli, 'daemon', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    assert.equal(code, EXIT_CONFIG, 'EX_CONFIG, which the unit does not restart on');
    assert.match(err, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:5:\\d+: limits\\.queueDepth: must be at least 1`));
  });
});
