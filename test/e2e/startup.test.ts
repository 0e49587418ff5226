/**
 * The daemon before its broker is up, as on an appliance that boots first: signals and config edits
 * are handled from the first instant, and a clean stop leaves every retained topic saying `stopped`.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { EXIT_CONFIG } from '../../src/daemon/lifecycle/service.js';
import { topicsFor } from '../../src/daemon/mqtt/topics.js';
import { testDataPath } from '../../src/testdata.js';
import { event, spawnDaemon } from '../helpers/daemon-process.js';
import { brokerAndScratchDir, freePort } from '../helpers/mosquitto.js';
import { Observer, type Seen } from '../helpers/mqtt-observer.js';

const json = (s: Seen) => JSON.parse(s.payload.toString()) as Record<string, any>;

describe('daemon start-up before the broker', () => {
  const scratch = brokerAndScratchDir('coral-pipe-startup-');
  let n = 0;

  /** A config file whose broker is `url`; returns its path and topics. */
  async function config(url: string, extra = ''): Promise<{ file: string; node: string; topics: ReturnType<typeof topicsFor> }> {
    const node = `startup-${process.pid}-${++n}`;
    const file = path.join(scratch.dir, `${node}.yaml`);
    await writeFile(
      file,
      [
        `node: ${node}`,
        `mqtt: {url: "${url}", topicPrefix: su, reconnectMinMs: 50, reconnectMaxMs: 200}`,
        `model: {file: ${JSON.stringify(testDataPath('models/mobilenet_v2_1.0_224_quant.tflite'))}, labels: ${JSON.stringify(testDataPath('labels/imagenet_labels.txt'))}}`,
        `cameras: {front: su/${node}/front}`,
        extra,
        '',
      ].join('\n'),
    );
    return { file, node, topics: topicsFor('su', node) };
  }

  it('refuses to start on a model that cannot serve, naming the config line, exit 78 (EX_CONFIG)', async () => {
    const { file } = await config(`mqtt://127.0.0.1:${await freePort()}`);
    const deeplab = testDataPath('models/deeplabv3_mnv2_dm05_pascal_quant.tflite');
    await writeFile(file, (await readFile(file, 'utf8')).replace(/model: \{file: [^,]*, labels: [^}]*\}/, `model: {file: ${JSON.stringify(deeplab)}}`));
    const d = spawnDaemon(file);
    assert.equal(await d.exit, EXIT_CONFIG, d.output());
    assert.match(d.output(), new RegExp(`${path.basename(file).replace('.', '\\.')}:3:\\d+: model\\.file: .*deeplab`));
    assert.doesNotMatch(d.output(), /ConfigError/);
  });

  it('stops cleanly on SIGTERM while the broker is unreachable', async () => {
    const { file } = await config(`mqtt://127.0.0.1:${await freePort()}`);
    const d = spawnDaemon(file);
    try {
      await d.nextLine(event('mqtt-error'), 'a failed broker connection');
      d.child.kill('SIGTERM');
      assert.equal(await d.exit, 0, d.output());
      const events = d.lines.map((l) => l.event);
      assert.ok(events.includes('signal') && events.at(-1) === 'stopped', `log events: ${events.join(',')}`);
    } finally {
      d.child.kill('SIGKILL');
    }
  });

  it('takes SIGHUP and a corrected broker URL before the first connection, then serves', async () => {
    const { file, node, topics } = await config(`mqtt://127.0.0.1:${await freePort()}`);
    const observer = await Observer.connect(scratch.broker.url, [`su/${node}/#`]);
    const d = spawnDaemon(file);
    try {
      await d.nextLine(event('mqtt-error'), 'a failed broker connection');
      // SIGHUP's default action kills a process: it must reach the daemon's own handler instead.
      d.child.kill('SIGHUP');
      await d.nextLine(event('reload', { why: 'SIGHUP' }), 'the SIGHUP reload');
      // An invalid edit is refused and start-up goes on; a valid one starts again with it.
      const text = await readFile(file, 'utf8');
      await writeFile(file, `${text}topK: lots\n`);
      await d.nextLine((l) => l.event === 'reload' && Array.isArray(l.errors) && /topK/.test(String(l.errors)), 'the invalid edit refused');
      await writeFile(file, text.replace(/url: "[^"]*"/, `url: "${scratch.broker.url}"`));
      await observer.nextText(topics.availability, 'online', 0);
      await observer.client.publishAsync(`su/${node}/front`, await readFile(testDataPath('images/parrot.jpg')));
      const result = json(await observer.next((s) => s.topic === topics.result('front'), 60_000));
      assert.equal(result.top[0].label, 'macaw');
      d.child.kill('SIGTERM');
      assert.equal(await d.exit, 0, d.output());
    } finally {
      d.child.kill('SIGKILL');
      await observer.close();
    }
  });

  it('leaves status and availability telling one story: stopped after a clean stop, running after a restart, offline after a crash', async () => {
    const { file, node, topics } = await config(scratch.broker.url);
    const observer = await Observer.connect(scratch.broker.url, [`su/${node}/#`]);
    try {
      const d = spawnDaemon(file);
      await observer.nextText(topics.availability, 'online', 0);
      d.child.kill('SIGTERM');
      assert.equal(await d.exit, 0, d.output());
      await observer.nextText(topics.availability, 'stopped');
      // What a dashboard joining now sees: the retained messages.
      const late = await Observer.connect(scratch.broker.url, [topics.status, topics.availability]);
      const status = json(await late.next((s) => s.topic === topics.status));
      const availability = await late.next((s) => s.topic === topics.availability);
      await late.close();
      assert.equal(status.state, 'stopped');
      assert.equal(availability.payload.toString(), 'stopped');

      const from = observer.seen.length;
      const again = spawnDaemon(file);
      await observer.nextText(topics.availability, 'online', from);
      const restarted = observer.seen.slice(from);
      const statusAt = restarted.findLastIndex((s) => s.topic === topics.status);
      assert.ok(statusAt >= 0 && statusAt < restarted.findIndex((s) => s.topic === topics.availability && s.payload.toString() === 'online'), 'status republished before online');
      assert.equal(json(restarted[statusAt]!).state, 'running');
      // A crash (SIGKILL, the OOM killer): the broker publishes both last wills.
      again.child.kill('SIGKILL');
      await again.exit;
      await observer.nextText(topics.availability, 'offline', from);
      await observer.next((s) => s.topic === topics.status && json(s).state === 'offline', 10_000, from);
      const afterCrash = await Observer.connect(scratch.broker.url, [topics.status]);
      assert.deepEqual(json(await afterCrash.next((s) => s.topic === topics.status)), { node, state: 'offline' });
      await afterCrash.close();
    } finally {
      await observer.close();
    }
  });
});
