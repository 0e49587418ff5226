// The edgetpu_compiler wrapper, run against the stand-in compiler script in test/fakes/ (the real
// compiler is not installed here).
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { compiledSegmentName, compileSegments, CompileError, CompilerNotFoundError, parseByteSize, parseCompilerMemory } from '../../src/model/compile.js';
import { isEdgeTpuCompiled, readModel, type Model } from '../../src/model/index.js';
import { testDataPath } from '../../src/testdata.js';
import { fakesDir } from '../helpers/standin-edgetpu.js';

let savedPath: string | undefined;
let work: string;

/** Two "segments": real small .tflite files under segment names, in a scratch folder. */
function segments(stem: string): string[] {
  const models = ['mobilenet_v1_0.25_128_quant.tflite', 'mobilenet_v1_0.5_160_quant.tflite'];
  return models.map((m, i) => {
    const file = path.join(work, `${stem}_segment_${i}_of_2.tflite`);
    copyFileSync(testDataPath(`models/${m}`), file);
    return file;
  });
}

beforeEach(() => {
  savedPath = process.env.PATH;
  work = mkdtempSync(path.join(os.tmpdir(), 'coral-pipe-compile-test-'));
});

afterEach(() => {
  process.env.PATH = savedPath;
  delete process.env.STANDIN_COMPILER_FAIL;
});

function putCompilerOnPath(): void {
  const bin = mkdtempSync(path.join(work, 'bin-'));
  symlinkSync(path.join(fakesDir, 'edgetpu_compiler'), path.join(bin, 'edgetpu_compiler'));
  process.env.PATH = `${bin}${path.delimiter}${savedPath ?? ''}`;
}

test('compiles each segment, names results <stem>_segment_<i>_of_<N>_edgetpu.tflite, reports memory', async () => {
  putCompilerOnPath();
  const files = segments('mnet');
  const outDir = path.join(work, 'out');
  const results = await compileSegments(files, { outDir, extraArgs: ['--min_runtime_version', '13'] });
  assert.deepEqual(results.map((r) => path.basename(r.output)), ['mnet_segment_0_of_2_edgetpu.tflite', 'mnet_segment_1_of_2_edgetpu.tflite']);
  for (const [i, r] of results.entries()) {
    assert.equal(r.index, i);
    assert.equal(r.source, files[i]);
    const input = readFileSync(files[i]!);
    const output = readModel(readFileSync(r.output));
    assert.equal(output.description, 'EDGETPU-STANDIN --min_runtime_version 13', 'the options reach the compiler');
    assert.ok(isEdgeTpuCompiled(output));
    const io = (m: Model) => [m.subgraphs[0]!.inputs, m.subgraphs[0]!.outputs].map((ts) => ts.map((t) => m.subgraphs[0]!.tensors[t]!.name));
    assert.deepEqual(io(output), io(readModel(readFileSync(files[i]!))), 'the same inputs and outputs');
    assert.equal(r.onChipBytes, Math.round(Number((input.length / 1024).toFixed(2)) * 1024));
    assert.equal(r.offChipBytes, 0);
    assert.equal(r.memoryLines.length, 3);
    assert.match(r.memoryLines[0]!, /^On-chip memory used for caching model parameters: /);
  }
  assert.deepEqual(readdirSync(outDir).sort(), ['mnet_segment_0_of_2_edgetpu.tflite', 'mnet_segment_1_of_2_edgetpu.tflite'], 'no scratch left behind');
});

test('names by the given stem when the inputs are not segment-named; output beside the first input', async () => {
  putCompilerOnPath();
  const file = path.join(work, 'whole.tflite');
  copyFileSync(testDataPath('models/mobilenet_v1_0.25_128_quant.tflite'), file);
  const [r] = await compileSegments([file]);
  assert.equal(r!.output, path.join(work, compiledSegmentName('whole', 0, 1)));
  assert.ok(statSync(r!.output).size > 0);
  const [s] = await compileSegments([file], { stem: 'cam' });
  assert.equal(path.basename(s!.output), 'cam_segment_0_of_1_edgetpu.tflite');
});

test('a compiler failure names the file and the compiler message', async () => {
  putCompilerOnPath();
  const files = segments('bad');
  process.env.STANDIN_COMPILER_FAIL = path.basename(files[1]!);
  await assert.rejects(compileSegments(files, { outDir: path.join(work, 'o') }), (e: unknown) =>
    e instanceof CompileError && e.source === files[1] && /failed on .*bad_segment_1_of_2\.tflite \(exit 1\): Internal compiler error/.test(e.message));
});

test('without edgetpu_compiler on PATH: a clear message', async () => {
  process.env.PATH = path.join(work, 'empty-bin');
  const files = segments('none');
  await assert.rejects(compileSegments(files), (e: unknown) =>
    e instanceof CompilerNotFoundError && /edgetpu_compiler was not found on PATH .*install Coral's edgetpu-compiler/.test(e.message));
  assert.equal(existsSync(path.join(work, 'none_segment_0_of_2_edgetpu.tflite')), false);
});

test('parses the compiler memory lines and sizes', () => {
  assert.equal(parseByteSize('3.42MiB'), 3586130);
  assert.equal(parseByteSize('0.00B'), 0);
  assert.equal(parseByteSize('12.5KiB'), 12800);
  assert.equal(parseByteSize('lots'), undefined);
  const log = 'Edge TPU Compiler version 16\nOn-chip memory used for caching model parameters: 1.00MiB\n' +
    'On-chip memory remaining for caching model parameters: 6.91MiB\nOff-chip memory used for streaming uncached model parameters: 2.00KiB\n';
  assert.deepEqual(parseCompilerMemory(log), {
    memoryLines: [
      'On-chip memory used for caching model parameters: 1.00MiB',
      'On-chip memory remaining for caching model parameters: 6.91MiB',
      'Off-chip memory used for streaming uncached model parameters: 2.00KiB',
    ],
    onChipBytes: 1048576,
    offChipBytes: 2048,
  });
});
