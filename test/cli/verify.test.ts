/** `coral-pipe verify`: exit 0 only for byte-identical outputs; says what differs otherwise. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { readModel, writeModel, type Model } from '../../src/model/index.js';
import { segmentModel, segmentFileName } from '../../src/model/segment/index.js';
import { testDataPath } from '../../src/testdata.js';
import { modelBytes } from '../helpers/model-files.js';
import { cliPath } from '../helpers/cli.js';

const cli = cliPath;
const verify = (...args: string[]) => spawnSync(process.execPath, [cli, 'verify', ...args], { encoding: 'utf8' });
const NAME = 'mobilenet_v1_0.25_128_quant';
const modelFile = testDataPath(`models/${NAME}.tflite`);

describe('coral-pipe verify', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'coral-pipe-verify-'));
  const files: string[] = [];
  let tampered = '';

  before(async () => {
    const { segments } = await segmentModel(readModel(modelBytes(`models/${NAME}.tflite`)), { strategy: 'params', count: 3 });
    for (const s of segments) {
      files.push(path.join(dir, segmentFileName(NAME, s.index, 3)));
      writeFileSync(files[s.index]!, writeModel(s.model));
    }
    // The last segment with its weights nudged: it still runs, but computes something else.
    const last: Model = segments[2]!.model;
    const nudged: Model = { ...last, buffers: last.buffers.map((b) => (b.data.length > 16 ? { ...b, data: b.data.map((x) => x ^ 2) } : b)) };
    tampered = path.join(dir, 'tampered.tflite');
    writeFileSync(tampered, writeModel(nudged));
  });

  it('exits 0 and says so when every output is identical', () => {
    const result = verify(modelFile, ...files, '--runs', '2', '--random');
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^identical: 1 output\(s\) of 3 segments equal the whole model's, byte for byte, on 2 random input\(s\)/);
  });

  it('exits 1 and prints what differs', () => {
    const result = verify(modelFile, files[0]!, files[1]!, tampered, '--runs', '2', '--json');
    assert.equal(result.status, 1, result.stderr);
    const report = JSON.parse(result.stdout) as { identical: boolean; differences: { run: number; tensor: string; differing: number }[] };
    assert.equal(report.identical, false);
    assert.deepEqual(report.differences.map((d) => [d.run, d.tensor]), [[0, 'MobilenetV1/Predictions/Reshape_1'], [1, 'MobilenetV1/Predictions/Reshape_1']]);
    const text = verify(modelFile, files[0]!, files[1]!, tampered, '--runs', '1');
    assert.equal(text.status, 1);
    assert.match(text.stdout, /^DIFFERENT: 1 output\(s\) differ over 1 run\(s\) \(image inputs\)\n {2}run 0 "MobilenetV1\/Predictions\/Reshape_1": \d+ of 1001 elements differ; first at \[\d+\]: whole model \d+, segments \d+/);
  });

  it('a broken chain (a segment missing) fails with one line naming the tensor', () => {
    const result = verify(modelFile, files[0]!, files[2]!);
    assert.equal(result.status, 1);
    assert.equal(result.stderr.trim().split('\n').length, 1);
    assert.match(result.stderr, /ChainError: .*segment 1 \(.*_segment_2_of_3\.tflite\) reads ".*", which no earlier segment produces and is not a model input/);
  });

  it('bad arguments exit 2', () => {
    assert.equal(verify(modelFile).status, 2);
    assert.equal(verify(modelFile, files[0]!, '--runs', '0').status, 2);
  });
});
