import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { analyzeChain, ChainError } from '../../../src/model/segment/chain.js';
import { testDataPath } from '../../../src/testdata.js';
import { chainSegmentOfFile, seg, spec } from '../../helpers/pipeline-specs.js';

test('a straight chain: inputs of the first, outputs of the last, one hop each', () => {
  const chain = analyzeChain([seg('a', ['in'], ['x']), seg('b', ['x'], ['y']), seg('c', ['y'], ['out'])]);
  assert.deepEqual(chain.inputs.map((t) => t.name), ['in']);
  assert.deepEqual(chain.outputs.map((t) => t.name), ['out']);
  const x = chain.tensors.get('x')!;
  assert.equal(x.producer, 0);
  assert.deepEqual(x.consumers, [1]);
  assert.equal(x.lastUse, 1);
  assert.deepEqual(x.skips, []);
  assert.deepEqual(chain.segments.map((s) => s.handsOn), [['x'], ['y'], ['out']]);
  assert.deepEqual(chain.segments[1]!.reads, [{ name: 'x', from: 0 }]);
});

test('a tensor that skips segments is carried to its last consumer and no further', () => {
  const chain = analyzeChain([seg('a', ['in'], ['x', 'skip']), seg('b', ['x'], ['y']), seg('c', ['y'], ['z']), seg('d', ['z', 'skip'], ['out'])]);
  const skip = chain.tensors.get('skip')!;
  assert.equal(skip.producer, 0);
  assert.deepEqual(skip.consumers, [3]);
  assert.deepEqual(skip.skips, [1, 2]);
  assert.deepEqual(chain.segments.map((s) => s.handsOn), [['x', 'skip'], ['skip', 'y'], ['skip', 'z'], ['out']]);
});

test('a model input first read by a later segment is a pipeline input (split_concat)', () => {
  const chain = analyzeChain([seg('a', ['in'], ['x']), seg('b', ['x', 'in'], ['out'])]);
  assert.deepEqual(chain.inputs.map((t) => t.name), ['in']);
  const input = chain.tensors.get('in')!;
  assert.equal(input.producer, -1);
  assert.deepEqual(input.consumers, [0, 1]);
  const late = analyzeChain([seg('a', ['in'], ['x']), seg('b', ['x', 'in2'], ['out'])]);
  assert.deepEqual(late.inputs.map((t) => t.name), ['in', 'in2']);
  assert.deepEqual(late.tensors.get('in2')!.skips, [0]);
});

test('modelInputs makes an unproduced tensor a missing link', () => {
  assert.throws(
    () => analyzeChain([seg('a', ['in'], ['x']), seg('b', ['x', 'ghost'], ['out'])], { modelInputs: ['in'] }),
    (err: unknown) => err instanceof ChainError && /segment 1 \(b\) reads "ghost".*not a model input/.test(err.message),
  );
});

test('an early model output listed in modelOutputs is returned; unlisted it is an error', () => {
  const segments = [seg('a', ['in'], ['x', 'head1']), seg('b', ['x'], ['head2'])];
  const chain = analyzeChain(segments, { modelOutputs: ['head1', 'head2'] });
  assert.deepEqual(chain.outputs.map((t) => t.name), ['head1', 'head2']);
  assert.equal(chain.tensors.get('head1')!.lastUse, 2);
  assert.throws(() => analyzeChain(segments), /segment 0 \(a\) produces "head1" but no later segment reads it/);
});

test('broken chains name every problem, tensor and segment', () => {
  assert.throws(() => analyzeChain([]), /no segments/);
  assert.throws(
    () => analyzeChain([seg('b', ['x'], ['out']), seg('a', ['in'], ['x'])]),
    (err: unknown) =>
      err instanceof ChainError &&
      err.problems.some((p) => /segment 0 \(b\) reads "x", which only the later segment 1 \(a\) produces/.test(p)),
  );
  assert.throws(() => analyzeChain([seg('a', ['in'], ['x']), seg('b', ['x'], ['x'])]), /"x" is produced by both segment 0 \(a\) and segment 1 \(b\)/);
  assert.throws(
    () => analyzeChain([seg('a', ['in'], ['x']), { name: 'b', inputs: [spec('x', [4], 'int8')], outputs: [spec('out')] }]),
    /"x" is uint8\[4\] from segment 0 \(a\) but segment 1 \(b\) reads int8\[4\]/,
  );
  const two = (() => {
    try {
      analyzeChain([seg('a', ['in'], ['x', 'lost']), seg('b', ['y'], ['out'])], { modelInputs: ['in'] });
    } catch (err) {
      return err as ChainError;
    }
    return undefined;
  })();
  assert.ok(two instanceof ChainError);
  assert.equal(two.problems.length, 3, two.message); // y missing, x and lost unread
});

test("edgetpu_compiler's SSD segment sets chain; a mixed set fails naming the files", () => {
  const dir = testDataPath('segments');
  const files = (n: number) =>
    readdirSync(dir)
      .filter((f) => f.includes(`_of_${n}_`))
      .sort()
      .map((f) => path.join(dir, f));
  for (const n of [2, 4]) {
    const chain = analyzeChain(files(n).map(chainSegmentOfFile));
    assert.equal(chain.segments.length, n);
    // Each later segment reads only tensors some earlier segment produced.
    for (const s of chain.segments.slice(1)) assert.ok(s.reads.every((r) => r.from >= 0), JSON.stringify(s.reads));
  }
  const mixed = [files(2)[0]!, ...files(4).slice(1)].map(chainSegmentOfFile);
  assert.throws(() => analyzeChain(mixed), (err: unknown) => err instanceof ChainError && err.message.includes('segment_0_of_2'));
});
