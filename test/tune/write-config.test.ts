/** A layout written into a daemon config: only its values change (src/tune/write-config.ts). */
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseConfigText } from '../../src/daemon/config/config-parse.js';
import { testDataPath } from '../../src/testdata.js';
import { devicesSetting, withLayout } from '../../src/tune/write-config.js';
import { projectRoot, runCli } from '../helpers/cli.js';

const ids = ['cpu:0', 'cpu:1', 'cpu:2', 'cpu:3'];

describe('writing a layout into a config', () => {
  it('names one device per segment, or a list of replicas', () => {
    assert.deepEqual(devicesSetting({ strategy: 'latency', replicas: [2, 1, 1] }, ids), [['cpu:0', 'cpu:1'], 'cpu:2', 'cpu:3']);
    assert.deepEqual(devicesSetting({ replicas: [3] }, ids), [['cpu:0', 'cpu:1', 'cpu:2']]);
    assert.throws(() => devicesSetting({ replicas: [5] }, ids), /needs more devices than the 4 given/);
  });

  it('changes only the values it writes, and adds the fields that were not there', () => {
    const text = '# my appliance\nmodel:\n  file: m.tflite   # the model\ncameras: {a: x}   # one camera\n';
    const written = withLayout(text, 'c.yaml', { strategy: 'latency', replicas: [1, 2] }, ids);
    assert.equal(written, '# my appliance\nmodel:\n  file: m.tflite   # the model\n  segments: 2\n  strategy: latency\ncameras: {a: x}   # one camera\ndevices: [cpu:0, [cpu:1, cpu:2]]\n');
    const parsed = parseConfigText(written, 'c.yaml');
    assert.deepEqual([parsed.model.segments, parsed.model.strategy, parsed.devices], [2, 'latency', ['cpu:0', ['cpu:1', 'cpu:2']]]);
  });

  it('turns the short `model: FILE` into the long form', () => {
    const written = withLayout('model: m.tflite\ncameras: {a: x}\ndevices: auto\n', 'c.yaml', { replicas: [2] }, ids);
    assert.equal(written, 'model: {file: "m.tflite", segments: 1}\ncameras: {a: x}\ndevices: [[cpu:0, cpu:1]]\n');
  });

  it('coral-pipe tune --write-config: the shipped example keeps every other line, and check-config accepts it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'coral-pipe-tune-'));
    try {
      const file = path.join(dir, 'coral-pipe.yaml');
      await copyFile(path.join(projectRoot, 'config/coral-pipe.yaml'), file);
      await symlink(testDataPath('models'), path.join(dir, 'models'));
      await symlink(testDataPath('labels'), path.join(dir, 'labels'));
      const before = (await readFile(file, 'utf8')).split('\n');
      const tune = await runCli('tune', testDataPath('models/mobilenet_v1_0.25_128_quant.tflite'), '--devices', '2', '--items', '8', '--write-config', file);
      assert.equal(tune.code, 0, tune.stderr);
      const after = (await readFile(file, 'utf8')).split('\n');
      assert.equal(after.length, before.length);
      const changed = after.filter((line, i) => line !== before[i]);
      assert.ok(changed.every((line) => /^ {2}(segments|strategy): |^devices: /.test(line)), changed.join('\n'));
      const check = await runCli('check-config', file);
      assert.equal(check.code, 0, check.stderr);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
