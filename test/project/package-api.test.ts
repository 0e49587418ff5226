/**
 * The package as a user imports it, by its name: the README's library example end to end (segment a
 * model, run the segments pipelined, classify an image), and the subpath exports it documents.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import * as api from 'coral-pipe';
import { imageToTensor, PipelinedModelRunner, readLabels, readModel, segmentFileName, segmentModel, topK, writeModel } from 'coral-pipe';
import { enumerateDevices } from 'coral-pipe/devices';
import { isEdgeTpuCompiled } from 'coral-pipe/model';
import { splitByParameters } from 'coral-pipe/segment';
import { testDataPath } from '../../src/testdata.js';

describe('the package by its name', () => {
  it('segments mobilenet_v2 in two, runs the segments pipelined and classifies parrot.jpg as a macaw', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'coral-pipe-api-'));
    try {
      const model = readModel(await readFile(testDataPath('models/mobilenet_v2_1.0_224_quant.tflite')));
      const { segments } = await segmentModel(model, { strategy: 'params', count: 2 });
      const files = await Promise.all(
        segments.map(async (segment, i) => {
          const file = path.join(dir, segmentFileName('mobilenet_v2_1.0_224_quant', i, segments.length));
          await writeFile(file, writeModel(segment.model));
          return file;
        }),
      );
      const runner = await PipelinedModelRunner.create(files);
      try {
        const [input] = runner.inputs;
        const [output] = runner.outputs;
        await runner.push({ [input!.name]: await imageToTensor(await readFile(testDataPath('images/parrot.jpg')), input!) });
        const out = await runner.pop();
        const [best] = topK(out![output!.name]!, output!, 1, await readLabels(testDataPath('labels/imagenet_labels.txt')));
        runner.release(out!);
        assert.equal(best!.label, 'macaw');
      } finally {
        await runner.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('keeps internals out of the entry point and offers them through the documented subpaths', () => {
    for (const internal of ['minMaxSplit', 'rangesOf', 'profileOperators', 'analyzeChain', 'acquireLease', 'BUILTIN_OPERATORS'])
      assert.equal(internal in api, false, `${internal} is exported by the entry point`);
    assert.equal(typeof enumerateDevices, 'function');
    assert.equal(typeof isEdgeTpuCompiled, 'function');
    assert.equal(typeof splitByParameters, 'function');
  });
});
