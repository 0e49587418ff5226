// A config `coral-pipe tune --write-config` edits under a running daemon: the daemon reloads it, serves
// the layout tune chose (real classifier, real broker), and takes `model.layout` with `devices: auto`.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { createTuneCommand } from '../../src/cli/commands/tune.js';
import { loadConfig } from '../../src/daemon/config/config-load.js';
import { createPipelineClassifier } from '../../src/daemon/frames/pipeline-classifier.js';
import { Daemon } from '../../src/daemon/lifecycle/daemon.js';
import { createLogger } from '../../src/daemon/lifecycle/logger.js';
import { topicsFor } from '../../src/daemon/mqtt/topics.js';
import { testDataPath } from '../../src/testdata.js';
import { brokerAndScratchDir } from '../helpers/mosquitto.js';
import { Observer, type Seen } from '../helpers/mqtt-observer.js';

const json = (s: Seen) => JSON.parse(s.payload.toString()) as Record<string, any>;

describe('a config tune wrote', () => {
  const scratch = brokerAndScratchDir('coral-pipe-tune-config-');

  it('is reloaded by the running daemon, which then serves the layout tune chose', async (t) => {
    const file = path.join(scratch.dir, 'tuned.yaml');
    const model = testDataPath('models/mobilenet_v1_0.25_128_quant.tflite');
    const camera = `tn/${process.pid}/a`;
    await writeFile(
      file,
      [
        '# the appliance before tune',
        `node: tuned-${process.pid}`,
        `mqtt: {url: "${scratch.broker.url}", topicPrefix: t${process.pid}}`,
        'model:',
        `  file: ${JSON.stringify(model)}   # the CPU model`,
        `  labels: ${JSON.stringify(testDataPath('labels/imagenet_labels.txt'))}`,
        'cameras:',
        `  a: ${camera}`,
        '',
      ].join('\n'),
    );
    const config = await loadConfig(file);
    const topics = topicsFor(config.mqtt.topicPrefix, config.node);
    const observer = await Observer.connect(scratch.broker.url, [topics.result('a'), topics.status]);
    const daemon = await Daemon.start({ config, createClassifier: createPipelineClassifier, log: createLogger({ level: 'silent' }) });
    t.after(() => Promise.all([daemon.stop(), observer.close()]));
    const image = await readFile(testDataPath('images/parrot.jpg'));
    /** Sends parrot.jpg and resolves with the result the daemon publishes for it. */
    const classify = async () => {
      const from = observer.mark();
      await observer.client.publishAsync(camera, image);
      return json(await observer.next((s) => s.topic === topics.result('a'), 60_000, from));
    };
    /** The status the daemon publishes after `mark` (a reload publishes one). */
    const statusAfter = async (mark: number) => json(await observer.next((s) => s.topic === topics.status, 10_000, mark));
    const before = await classify();

    const out: string[] = [];
    const code = await createTuneCommand({ write: (text) => out.push(text) }).run([model, '--devices', '2', '--items', '8', '--write-config', file]);
    assert.equal(code, 0, out.join(''));
    const best = /^best: (.*?): /m.exec(out.join(''))![1]!;
    const written = await readFile(file, 'utf8');
    assert.ok(written.includes(`  layout: ${JSON.stringify(best)}\n`), written);
    assert.ok(written.startsWith('# the appliance before tune\n'), 'the comments kept');

    // What the config watcher does when the file changes under the daemon.
    const reloaded = observer.mark();
    const outcome = await daemon.reloadFile('edit');
    assert.equal(outcome.ok, true, JSON.stringify(outcome));
    const tuned = await loadConfig(file);
    const after = await classify();
    assert.deepEqual(after.top[0], before.top[0], 'the same answer from the new layout');
    const status = await statusAfter(reloaded);
    assert.equal(status.segments, tuned.model.segments);
    assert.deepEqual(
      status.layout.map((s: { devices: string[] }) => s.devices.length),
      tuned.model.replicas,
      `the status shows the replicas of ${best}`,
    );

    // The same words with `devices: auto`: the daemon gives each segment its replicas itself.
    await writeFile(file, written.replace(/^ {2}layout: .*$/m, '  layout: "whole model x 2"').replace(/^devices: .*$/m, 'devices: auto'));
    const again = observer.mark();
    assert.equal((await daemon.reloadFile('edit')).ok, true);
    const whole = await statusAfter(again);
    assert.deepEqual((await classify()).top[0], before.top[0]);
    assert.equal(whole.segments, 1);
    assert.equal(whole.layout[0].devices.length, 2, JSON.stringify(whole.layout));
  });
});
