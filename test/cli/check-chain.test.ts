/** `check-chain`: edgetpu_compiler's SSD segment sets, our own segments, and broken sets. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ChainError } from '../../src/model/segment/chain.js';
import { readModel, writeModel } from '../../src/model/index.js';
import { checkSegmentFiles } from '../../src/model/segment/check-files.js';
import { modelStem, segmentFileName, segmentModel } from '../../src/model/segment/index.js';
import { testDataPath } from '../../src/testdata.js';
import { modelBytes } from '../helpers/model-files.js';
import { cliPath } from '../helpers/cli.js';

const ssd = (i: number, n: number) => testDataPath(`segments/ssd_mobilenet_v1_coco_quant_postprocess_segment_${i}_of_${n}_edgetpu.tflite`);
const cli = cliPath;
const run = (...args: string[]) => spawnSync(process.execPath, [cli, 'check-chain', ...args], { encoding: 'utf8' });

async function rejectsWith(files: string[], ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(checkSegmentFiles(files), (err: unknown) => {
    assert.ok(err instanceof ChainError, String(err));
    for (const p of patterns) assert.match(err.message, p);
    return true;
  });
}

async function writeOwnSegments(name: string, count: number): Promise<string[]> {
  const { segments } = await segmentModel(readModel(modelBytes(`models/${name}.tflite`)), { strategy: 'params', count });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'coral-pipe-check-chain-'));
  return segments.map((s) => {
    const file = path.join(dir, segmentFileName(modelStem(name), s.index, count));
    writeFileSync(file, writeModel(s.model));
    return file;
  });
}

describe('check-chain on edgetpu_compiler output', () => {
  it('the 2-segment SSD set chains: one input, the four detection outputs', async () => {
    const { chain } = await checkSegmentFiles([ssd(0, 2), ssd(1, 2)]);
    assert.deepEqual(chain.inputs.map((t) => t.name), ['normalized_input_image_tensor']);
    assert.equal(chain.outputs.length, 4);
    assert.ok(chain.outputs.every((t) => t.name.startsWith('TFLite_Detection_PostProcess')));
  });

  it('the 4-segment SSD set chains, with a feature map that skips segments 1 and 2', async () => {
    const { chain } = await checkSegmentFiles([0, 1, 2, 3].map((i) => ssd(i, 4)));
    const skipping = [...chain.tensors.values()].filter((f) => f.skips.length > 0);
    assert.equal(skipping.length, 1);
    assert.equal(skipping[0]!.producer, 0);
    assert.deepEqual(skipping[0]!.consumers, [3]);
    assert.deepEqual(skipping[0]!.skips, [1, 2]);
  });

  it('a set mixing the 2- and 4-segment splits fails, naming files and the splits', async () => {
    await rejectsWith([ssd(0, 2), ssd(1, 4)], /produced by both segment 0 \(ssd_mobilenet_v1_coco_quant_postprocess_segment_0_of_2_edgetpu\.tflite\) and segment 1/, /different splits/);
  });

  it('out of order, or with a segment missing (even the last), fails naming what is missing', async () => {
    await rejectsWith([ssd(0, 4), ssd(2, 4), ssd(1, 4), ssd(3, 4)], /which only the later segment 2 \(.*segment_1_of_4_edgetpu\.tflite\) produces/, /out of order/);
    await rejectsWith([ssd(0, 4), ssd(1, 4), ssd(3, 4)], /segment 2 .*reads "FeatureExtractor/, /segment 2 of 4 missing/);
    await rejectsWith([ssd(0, 4), ssd(1, 4), ssd(2, 4)], /segment 3 of 4 missing/);
  });
});

describe('check-chain on our segments', () => {
  it('split_concat in 3: an early model output is known from the segment metadata', async () => {
    const files = await writeOwnSegments('split_concat', 3);
    const { chain, modelOutputs } = await checkSegmentFiles(files);
    assert.equal(modelOutputs?.length, 5);
    assert.deepEqual(chain.outputs.map((t) => t.name).sort(), ['concat/split0', 'concat/split2', 'concat/split4', 'outputs/rnn1', 'outputs/rnn2']);
    assert.deepEqual(chain.inputs.map((t) => t.name), ['input1', 'inputs/rnn1', 'inputs/rnn2']);
  });

  it('segments of two different models fail', async () => {
    const a = await writeOwnSegments('mobilenet_v1_0.25_128_quant', 2);
    const b = await writeOwnSegments('mobilenet_v1_0.5_160_quant', 2);
    await rejectsWith([a[0]!, b[1]!], /different models/, /produces "MobilenetV1\/Logits\/AvgPool_1a\/AvgPool" but no later segment reads it/);
  });
});

describe('coral-pipe check-chain', () => {
  it('prints the flow and exits 0 for a good chain', () => {
    const result = run(ssd(0, 4), ssd(1, 4), ssd(2, 4), ssd(3, 4));
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /chain OK: 4 segments, 1 inputs, 4 outputs/);
    assert.match(result.stdout, /segment 0 -> segment 3: .* \(skips segment 1, 2\)/);
  });

  it('exits 1 with one line on stderr for a broken chain, 2 for no files', () => {
    const broken = run(ssd(0, 2), ssd(1, 4));
    assert.equal(broken.status, 1);
    assert.equal(broken.stderr.trim().split('\n').length, 1);
    assert.match(broken.stderr, /^coral-pipe check-chain: ChainError: broken segment chain: /);
    assert.equal(run().status, 2);
  });
});
