import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, formatProblem } from '../../../src/daemon/config/config-error.js';
import { resolveConfig } from '../../../src/daemon/config/config-load.js';
import { createPipelineClassifier } from '../../../src/daemon/frames/pipeline-classifier.js';
import { testDataPath } from '../../../src/testdata.js';
import { memoryLog } from '../../helpers/fault-tools.js';

describe('pipeline classifier (mobilenet_v2, 1001 outputs)', () => {
  let dir: string;
  let parrot: Buffer;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'coral-pipe-classifier-'));
    parrot = await readFile(testDataPath('images/parrot.jpg'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** A config for mobilenet_v2 with these extra lines under `model:` and at the top level. */
  const config = (modelLines: string[], lines: string[] = []) =>
    resolveConfig(['cameras: {a: t}', 'model:', `  file: ${JSON.stringify(testDataPath('models/mobilenet_v2_1.0_224_quant.tflite'))}`, ...modelLines, ...lines, ''].join('\n'), path.join(dir, 'c.yaml'));

  it('without labels: says so once at build, results say "class N", and no score of 0 goes out', async (t) => {
    const { log, entries } = memoryLog();
    const classifier = await createPipelineClassifier(await config([], ['topK: 1000']), log);
    t.after(() => classifier.close());
    for (let i = 0; i < 2; i++) {
      const { top } = await classifier.classify(parrot);
      assert.deepEqual(top[0], { index: 89, label: 'class 89', score: 0.9961 });
      assert.ok(top.length < 1000, `${top.length} results: score-0 classes came through`);
      assert.ok(top.every((c) => c.score > 0), JSON.stringify(top.filter((c) => c.score <= 0)));
    }
    const said = entries.filter((e) => e.event === 'no-labels');
    assert.equal(said.length, 1);
    assert.match(String(said[0]!.msg), /no labels file set .*"class N"/);
  });

  it('with 1000 labels (no background): logs the offset rule once, and parrot.jpg is a macaw', async (t) => {
    const labels = path.join(dir, 'imagenet-1000.txt');
    await writeFile(labels, (await readFile(testDataPath('labels/imagenet_labels.txt'), 'utf8')).split('\n').slice(1).join('\n'));
    const { log, entries } = memoryLog();
    const classifier = await createPipelineClassifier(await config([`  labels: ${JSON.stringify(labels)}`]), log);
    t.after(() => classifier.close());
    assert.deepEqual((await classifier.classify(parrot)).top[0], { index: 89, label: 'macaw', score: 0.9961 });
    assert.deepEqual(entries.filter((e) => e.event === 'labels-offset').map((e) => e.msg), [
      `${labels} has 1000 labels for 1001 outputs: read as leaving out the background class, output 0 is "background" and output i gets label i - 1`,
    ]);
    assert.equal(entries.filter((e) => e.event === 'no-labels').length, 0);
  });

  it('refuses labels that do not fit before building anything, at the config line of model.labels', async () => {
    const labels = path.join(dir, 'three.txt');
    await writeFile(labels, 'a\nb\nc\n');
    await assert.rejects(createPipelineClassifier(await config([`  labels: ${JSON.stringify(labels)}`]), memoryLog().log), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.problems.map(formatProblem), [
        `${path.join(dir, 'c.yaml')}:4:11: model.labels: ${labels} has 3 labels but the model's output has 1001 classes: give 1001 labels (or 1000 without the background class, or 1002 starting with "background")`,
      ]);
      return true;
    });
  });

  it('runs each segment on the CPU engine its config device names: tflite:0 (native TensorFlow Lite), then litert:1', async (t) => {
    const classifier = await createPipelineClassifier(
      await config(['  segments: 2', `  labels: ${JSON.stringify(testDataPath('labels/imagenet_labels.txt'))}`], ['devices: [tflite:0, litert:1]']),
      memoryLog().log,
    );
    t.after(() => classifier.close());
    assert.deepEqual(classifier.info.devices, [['tflite:0'], ['litert:1']]);
    assert.deepEqual(classifier.info.hardware, { 'tflite:0': { type: 'cpu' }, 'litert:1': { type: 'cpu' } });
    assert.equal((await classifier.classify(parrot)).top[0]!.label, 'macaw');
  });
});

describe('pipeline classifier: what it says about its layout and devices', () => {
  it('names its strategy, the tensors each segment reads, writes and hands on, and per device its invokes and busy fraction', async (t) => {
    const config = await resolveConfig(
      ['cameras: {a: t}', 'model:', `  file: ${JSON.stringify(testDataPath('models/mobilenet_v2_1.0_224_quant.tflite'))}`, '  segments: 2', 'devices: [cpu:0, cpu:1]', ''].join('\n'),
      path.join(tmpdir(), 'c.yaml'),
    );
    const classifier = await createPipelineClassifier(config, memoryLog().log);
    t.after(() => classifier.close());
    const { info } = classifier;
    assert.equal(info.strategy, 'params');
    assert.deepEqual(info.devices, [['cpu:0'], ['cpu:1']]);
    const [first, second] = info.layout!;
    assert.deepEqual(first!.reads, ['input']);
    // The cut: what the first segment hands on is what the second reads.
    assert.ok(first!.handsOn.length > 0);
    assert.deepEqual([...first!.handsOn].sort(), [...second!.reads].sort());
    assert.deepEqual(second!.writes, ['MobilenetV2/Predictions/Softmax']);
    assert.deepEqual(second!.handsOn, []);
    assert.deepEqual(info.hardware, { 'cpu:0': { type: 'cpu' }, 'cpu:1': { type: 'cpu' } });

    classifier.stats();
    const parrot = await readFile(testDataPath('images/parrot.jpg'));
    for (let i = 0; i < 3; i++) await classifier.classify(parrot);
    const devices = classifier.stats().devices as Record<string, { segment: number; invokes: number; failures: number; busyFraction: number; idleFraction: number; blockedFraction: number }>;
    assert.deepEqual(Object.keys(devices), ['cpu:0', 'cpu:1']);
    for (const [i, id] of ['cpu:0', 'cpu:1'].entries()) {
      assert.equal(devices[id]!.segment, i);
      assert.equal(devices[id]!.invokes, 3);
      assert.equal(devices[id]!.failures, 0);
      assert.ok(devices[id]!.busyFraction > 0 && devices[id]!.busyFraction <= 1, JSON.stringify(devices[id]));
      // One frame at a time: each segment waits while the other works, and never for room.
      assert.ok(devices[id]!.idleFraction > 0, JSON.stringify(devices[id]));
      assert.equal(devices[id]!.blockedFraction, 0);
    }
  });

});
