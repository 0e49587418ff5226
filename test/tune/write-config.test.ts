/** A layout written into a daemon config: only its values change (src/tune/write-config.ts). */
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseConfigText } from '../../src/daemon/config/config-parse.js';
import { testDataPath } from '../../src/testdata.js';
import { withLayout } from '../../src/tune/write-config.js';
import { projectRoot, runCli } from '../helpers/cli.js';

const ids = ['cpu:0', 'cpu:1', 'cpu:2', 'cpu:3'];

describe('writing a layout into a config', () => {
  it('adds model.layout in tune\'s words and devices, changing nothing else', () => {
    const text = '# my appliance\nmodel:\n  file: m.tflite   # the model\ncameras: {a: x}   # one camera\n';
    const written = withLayout(text, 'c.yaml', { strategy: 'latency', replicas: [1, 2] }, ids);
    assert.equal(written, '# my appliance\nmodel:\n  file: m.tflite   # the model\n  layout: "2 segments (latency) x [1, 2]"\ncameras: {a: x}   # one camera\ndevices: [cpu:0, [cpu:1, cpu:2]]\n');
    const parsed = parseConfigText(written, 'c.yaml');
    assert.deepEqual([parsed.model.segments, parsed.model.strategy, parsed.model.replicas, parsed.devices], [2, 'latency', [1, 2], ['cpu:0', ['cpu:1', 'cpu:2']]]);
  });

  it('puts the layout where segments was, drops strategy, and replaces an earlier layout', () => {
    const text = 'model:\n  file: m.tflite\n  segments: 3   # by hand\n  strategy: params\n  labels: l.txt\ncameras: {a: x}\ndevices: auto\n';
    const written = withLayout(text, 'c.yaml', { replicas: [2] }, ids);
    assert.equal(written, 'model:\n  file: m.tflite\n  layout: "whole model x 2"   # by hand\n  labels: l.txt\ncameras: {a: x}\ndevices: [[cpu:0, cpu:1]]\n');
    const again = withLayout(written, 'c.yaml', { strategy: 'params', replicas: [1, 1] }, ids);
    assert.equal(again, 'model:\n  file: m.tflite\n  layout: "2 segments (params)"   # by hand\n  labels: l.txt\ncameras: {a: x}\ndevices: [cpu:0, cpu:1]\n');
  });

  it('writes the short `model: FILE` and one-line maps anew, keeping their other fields', () => {
    assert.equal(
      withLayout('model: m.tflite\ncameras: {a: x}\ndevices: auto\n', 'c.yaml', { replicas: [2] }, ids),
      'model: {file: m.tflite, layout: "whole model x 2"}\ncameras: {a: x}\ndevices: [[cpu:0, cpu:1]]\n',
    );
    assert.equal(
      withLayout('model: {file: m.tflite, strategy: latency, labels: l.txt}\ncameras: {a: x}\n', 'c.yaml', { strategy: 'params', replicas: [1, 1] }, ids),
      'model: {file: m.tflite, labels: l.txt, layout: "2 segments (params)"}\ncameras: {a: x}\ndevices: [cpu:0, cpu:1]\n',
    );
  });

  it('names compiled segment files in place of the whole model, devices by their stable ids', () => {
    const usb = ['usb:/sys/bus/usb/devices/2-1', 'usb:/sys/bus/usb/devices/2-2'];
    const written = withLayout('model:\n  file: m.tflite  # cpu\n  strategy: latency\ncameras: {a: x}\n', 'c.yaml', { strategy: 'params', replicas: [1, 1] }, usb, ['m_segment_0_of_2_edgetpu.tflite', 'dir with space/m_segment_1_of_2_edgetpu.tflite']);
    assert.equal(
      written,
      'model:\n  segmentFiles: [m_segment_0_of_2_edgetpu.tflite, "dir with space/m_segment_1_of_2_edgetpu.tflite"]  # cpu\n  layout: "2 segments (params)"\ncameras: {a: x}\n' +
        'devices: [usb:/sys/bus/usb/devices/2-1, usb:/sys/bus/usb/devices/2-2]\n',
    );
    assert.deepEqual(parseConfigText(written, 'c.yaml').model.segmentFiles, ['m_segment_0_of_2_edgetpu.tflite', 'dir with space/m_segment_1_of_2_edgetpu.tflite']);
    assert.throws(() => withLayout('model: {segmentFiles: [a.tflite]}\ncameras: {a: x}\n', 'c.yaml', { replicas: [1] }, ids), /c\.yaml: model\.segmentFiles names compiled segments/);
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
      // The example's strategy line goes (the layout says it); every other line is kept or rewritten in place.
      const kept = before.filter((line) => !/^ {2}strategy: /.test(line));
      assert.equal(after.length, kept.length);
      const changed = after.filter((line, i) => line !== kept[i]);
      assert.deepEqual(changed.map((line) => line.split(':')[0]), ['  layout', 'devices'], changed.join('\n'));
      const check = await runCli('check-config', file);
      assert.equal(check.code, 0, check.stderr);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
