/** `coral-pipe segment`, end to end through the real CLI: files, table, JSON, auto, compile, errors. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { readModel } from '../../src/model/index.js';
import { readSegmentInfo } from '../../src/model/segment/index.js';
import { testDataPath } from '../../src/testdata.js';
import { cliPath, projectRoot } from '../helpers/cli.js';

const cli = cliPath;
const fakeCompiler = path.join(projectRoot, 'test/fakes/edgetpu_compiler');
const coral = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
const model = (name: string) => testDataPath(`models/${name}.tflite`);
const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'coral-pipe-segment-cli-'));

describe('coral-pipe segment', () => {
  it('writes <stem>_segment_<i>_of_<N>.tflite files and prints the segment table', () => {
    const out = tmp();
    const result = coral('segment', model('mobilenet_v2_1.0_224_quant'), '--num-segments', '3', '--out', out);
    assert.equal(result.status, 0, result.stderr);
    const files = readdirSync(out).sort();
    assert.deepEqual(files, [0, 1, 2].map((i) => `mobilenet_v2_1.0_224_quant_segment_${i}_of_3.tflite`));
    const lines = result.stdout.split('\n');
    assert.match(lines[0]!, /^segment\s+file\s+ops\s+parameters\s+edgetpu cache\s+inputs\s+outputs$/);
    for (const [i, file] of files.entries()) {
      const m = readModel(readFileSync(path.join(out, file)));
      const row = lines[i + 1]!.split(/\s{2,}/);
      assert.equal(row[0], String(i));
      assert.equal(row[1], file);
      assert.equal(Number(row[2]), m.subgraphs[0]!.operators.length);
      assert.equal(row[4], 'fits');
      assert.deepEqual(readSegmentInfo(m)?.index, i);
    }
    assert.match(result.stdout, /segment 0 inputs:  input\n/);
    assert.match(result.stdout, /segment 2 outputs: MobilenetV2\/Predictions\/Softmax\n/);
  });

  it('--json, --strategy cut with "+" groups, then check-chain and verify accept the files', () => {
    const out = tmp();
    const result = coral('segment', model('split_concat'), '--strategy', 'cut', '--cut', 'concat,concat/split3+concat/split5', '--out', out, '--json');
    assert.equal(result.status, 0, result.stderr);
    const report = JSON.parse(result.stdout) as { strategy: string; segments: { file: string; operators: number; inputs: string[] }[] };
    assert.equal(report.strategy, 'cut');
    assert.deepEqual(report.segments.map((s) => s.operators), [1, 1, 1]);
    assert.deepEqual(report.segments[2]!.inputs.sort(), ['concat/split3', 'concat/split5']);
    const files = report.segments.map((s) => s.file);
    const chain = coral('check-chain', ...files);
    assert.equal(chain.status, 0, chain.stderr);
    const verify = coral('verify', model('split_concat'), ...files, '--runs', '2');
    assert.equal(verify.status, 0, verify.stderr + verify.stdout);
    assert.match(verify.stdout, /^identical: 5 output\(s\) of 3 segments/);
  });

  it('--num-segments auto: one per CPU device for --target cpu, ceil(MiB/6) for edgetpu', () => {
    const cpu = tmp();
    assert.equal(coral('segment', model('mobilenet_v1_0.25_128_quant'), '-n', 'auto', '--target', 'cpu', '--cpu-devices', '3', '--out', cpu).status, 0);
    assert.equal(readdirSync(cpu).length, 3);
    const tpu = tmp();
    assert.equal(coral('segment', model('mobilenet_v1_0.25_128_quant'), '-n', 'auto', '--target', 'edgetpu', '--out', tpu).status, 0);
    assert.deepEqual(readdirSync(tpu), ['mobilenet_v1_0.25_128_quant_segment_0_of_1.tflite'], 'under 6 MiB of parameters: one segment');
  });

  it('--compile runs the compiler on each segment and names the results as edgetpu_compiler does', () => {
    const bin = tmp();
    const compiler = path.join(bin, 'edgetpu_compiler');
    symlinkSync(fakeCompiler, compiler);
    const out = tmp();
    const result = coral('segment', model('mobilenet_v1_0.25_128_quant'), '-n', '2', '--out', out, '--compile', '--compiler', compiler);
    assert.equal(result.status, 0, result.stderr);
    const compiled = readdirSync(out).filter((f) => f.endsWith('_edgetpu.tflite')).sort();
    assert.deepEqual(compiled, [0, 1].map((i) => `mobilenet_v1_0.25_128_quant_segment_${i}_of_2_edgetpu.tflite`));
    assert.ok(statSync(path.join(out, compiled[0]!)).size > 0);
    assert.match(result.stdout, /compiled: mobilenet_v1_0.25_128_quant_segment_0_of_2_edgetpu.tflite/);
  });

  it('refuses impossible requests with one line naming the problem', () => {
    const out = tmp();
    const cases: [string[], number, RegExp][] = [
      [[model('split_concat'), '-n', '4', '--out', out], 1, /SegmentationError: \S*split_concat\.tflite: cannot make 4 segments from a model with 3 operators/],
      [[model('mobilenet_v1_0.25_128_quant_edgetpu'), '-n', '2', '--out', out], 1, /mobilenet_v1_0\.25_128_quant_edgetpu\.tflite: .*already compiled for the Edge TPU/],
      [[model('mobilenet_v1_0.25_128_quant'), '--cut', 'nope', '--out', out], 1, /mobilenet_v1_0\.25_128_quant\.tflite: .*cut tensor "nope" does not exist/],
      [[model('mobilenet_v1_0.25_128_quant'), '-n', '2'], 2, /--out DIR is required/],
      [[model('mobilenet_v1_0.25_128_quant'), '-n', 'two', '--out', out], 2, /--num-segments must be a whole number/],
      [[model('mobilenet_v1_0.25_128_quant'), '-n', '2', '--strategy', 'fast', '--out', out], 2, /unknown --strategy "fast"/],
      [[model('mobilenet_v1_0.25_128_quant'), '-n', '3', '--cut', 'x', '--out', out], 2, /1 cuts make 2 segments, but --num-segments says 3/],
    ];
    for (const [args, status, message] of cases) {
      const result = coral('segment', ...args);
      assert.equal(result.status, status, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.equal(result.stdout, '');
      if (status === 1) assert.equal(result.stderr.trim().split('\n').length, 1);
    }
    assert.deepEqual(readdirSync(out), [], 'nothing written for a refused request');
  });
});
