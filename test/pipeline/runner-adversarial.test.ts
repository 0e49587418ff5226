/**
 * The runner through its public API, used the ways that broke it: replicas anywhere, outputs never
 * released, one pool for runners of different sizes, every item failing, a busy main thread, and the
 * calls a pycoral user makes without reading the docs; then a long randomised run.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type NamedTensors, TensorInputError } from '../../src/tensors/tensor.js';
import type { EngineSpec } from '../../src/devices/open-engine.js';
import { engineTimer } from '../../src/devices/segment-timer.js';
import { PipelineFailedError, ReleaseError, SegmentInvokeError } from '../../src/pipeline/errors.js';
import { watchPipeline } from '../../src/pipeline/hang-watch.js';
import { PipelinedModelRunner } from '../../src/pipeline/runner.js';
import { SlabPool } from '../../src/pipeline/slabs.js';
import type { Stage } from '../../src/pipeline/stage.js';
import { testDataPath } from '../../src/testdata.js';
import { until } from '../helpers/fault-tools.js';
import { passThroughChain, spec } from '../helpers/pipeline-specs.js';
import { below, prng } from '../helpers/seeded.js';
import { removeSegments, writeSegments } from '../helpers/segment-files.js';

type PassThrough = ReturnType<typeof passThroughChain>[number];

/** Bytes that all derive from `tag`, so any mix-up or corruption shows; the tag is in the first 4. */
function item(tag: number, bytes: number): Uint8Array {
  const data = new Uint8Array(bytes);
  for (let i = 4; i < bytes; i++) data[i] = (tag * 131 + i * 7) & 255;
  new DataView(data.buffer).setUint32(0, tag);
  return data;
}
const tagOf = (out: Uint8Array) => new DataView(out.buffer, out.byteOffset).getUint32(0);

/** `segments` with `replicas[i]` executors each, replica r of segment i delayed by `delays(i, r)` ms. */
function withReplicas(segments: readonly PassThrough[], replicas: readonly number[], delays: (segment: number, replica: number) => number): EngineSpec[][] {
  return segments.map((segment, i) =>
    Array.from({ length: replicas[i]! }, (_, r) => ({ ...segment, device: `pt:${i}${'abcdefgh'[r]}`, delayMs: delays(i, r) })),
  );
}

/** Pushes `count` items and pops them all concurrently; returns the tags in pop order. */
async function stream(runner: PipelinedModelRunner, count: number, bytes: number, output: string): Promise<number[]> {
  const producer = (async () => {
    for (let i = 0; i < count; i++) await runner.push([item(i, bytes)]);
    await runner.close();
  })();
  const tags: number[] = [];
  for await (const out of runner) {
    const data = out[output] as Uint8Array;
    assert.deepEqual(data, item(tagOf(data), bytes));
    tags.push(tagOf(data));
    runner.release(out);
  }
  await producer;
  return tags;
}

const inOrder = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('replicas before the last segment', () => {
  // Each used to deadlock: a replica's finished items blocked in front of the item pop waits for.
  const placements: [string, number[], (segment: number, replica: number) => number][] = [
    ['[2, 1], equal speeds', [2, 1], () => 1],
    ['[2, 1], the second replica slower', [2, 1], (s, r) => (s === 0 ? 1 + 3 * r : 1)],
    ['[1, 2, 1]', [1, 2, 1], (s, r) => (s === 1 ? 1 + 2 * r : 1)],
    ['[2, 2, 1], unequal everywhere', [2, 2, 1], (s, r) => 1 + ((s + r) % 3)],
    ['[3, 1, 2]', [3, 1, 2], (_s, r) => (r === 2 ? 4 : 1)],
  ];
  for (const [name, replicas, delays] of placements) {
    it(`${name}: 1000 items pushed and popped, every one once and in order`, async () => {
      const chain = withReplicas(passThroughChain(replicas.length, 64), replicas, delays);
      const runner = await PipelinedModelRunner.create(chain, { hangTimeoutMs: 5000 });
      assert.deepEqual(await stream(runner, 1000, 64, `t${replicas.length}`), inOrder(1000));
    });
  }

  it('real mobilenet_v2 in 3 latency-cut segments, replicas [2, 1, 1] and [1, 2, 1]: 150 items each', async (t) => {
    const files = await writeSegments(testDataPath('models/mobilenet_v2_1.0_224_quant.tflite'), { strategy: 'latency', count: 3, timer: engineTimer() });
    t.after(() => removeSegments(files));
    for (const replicas of [[2, 1, 1], [1, 2, 1]]) {
      const runner = await PipelinedModelRunner.create(files, { replicas });
      const input = runner.inputs[0]!;
      const producer = (async () => {
        for (let i = 0; i < 150; i++) await runner.push([item(i, input.byteSize)]);
        await runner.close();
      })();
      let popped = 0;
      for await (const out of runner) {
        popped++;
        runner.release(out);
      }
      await producer;
      assert.equal(popped, 150, `replicas ${replicas}`);
    }
  });

  it('reports a pipeline where nothing can move as a deadlock instead of hanging silently', async () => {
    // No deadlock is known any more, so the watch is checked on a stage whose items wait for nothing.
    const stage = { label: 'segment 0', executors: [{ device: 'pt:0', invokeRunningMs: () => undefined }] } as unknown as Stage;
    let stalledChecks = 0;
    const failure = await new Promise<PipelineFailedError>((resolve) => {
      const timer = watchPipeline({ stages: [stage], hangTimeoutMs: 40, stalled: () => (stalledChecks++, '2 item(s) in flight but none running'), fail: (f) => (clearInterval(timer), resolve(f)) });
      // The watch does not keep a process alive; here nothing else does.
      timer.ref();
    });
    assert.match(failure.message, /made no progress: 2 item\(s\) in flight but none running \(deadlock\)/);
    assert.equal(stalledChecks, 2, 'failed before seeing the stall twice');
  });
});

describe('memory stays bounded whatever the caller does', () => {
  it('outputs popped and never released: copies beyond heldOutputLimit, and the byte budget holds', async () => {
    const MiB = 2 ** 20;
    const pool = new SlabPool(64 * MiB);
    const runner = await PipelinedModelRunner.create(passThroughChain(3, MiB), { allocator: pool, heldOutputLimit: 3 });
    const bound = (runner.inFlightLimit + 3) * runner.itemBytes;
    const kept: NamedTensors[] = [];
    const rssBefore = process.memoryUsage.rss();
    const producer = (async () => {
      for (let i = 0; i < 1000; i++) await runner.push([item(i, MiB)]);
      await runner.close();
    })();
    let n = 0;
    for await (const out of runner) {
      assert.equal(tagOf(out.t3 as Uint8Array), n++);
      // The first few are kept for the whole run (views), the rest dropped without release.
      if (kept.length < 5) kept.push(out);
      const stats = runner.stats();
      assert.ok(stats.outputsHeld <= 3, `${stats.outputsHeld} outputs held`);
      assert.ok(stats.bytesHeld <= bound, `${stats.bytesHeld} bytes held, bound ${bound}`);
    }
    await producer;
    assert.equal(n, 1000);
    // Views of the first three, then copies: those stay intact while later items go through.
    kept.forEach((out, i) => assert.deepEqual(out.t3, item(i, MiB)));
    assert.equal(runner.stats().outputsHeld, 3);
    assert.ok(pool.created <= runner.inFlightLimit + 3 + 1, `${pool.created} slabs created`);
    const grown = (process.memoryUsage.rss() - rssBefore) / MiB;
    assert.ok(grown < 512, `RSS grew by ${grown.toFixed(0)} MiB for 1000 items of ${runner.itemBytes / MiB} MiB`);
    // Released, the held views free their room: nothing counts any more.
    for (const out of kept) runner.release(out);
    assert.equal(runner.stats().outputsHeld, 0);
  });

  it('one SlabPool for two runners of different item sizes reuses what fits and keeps within its budget', async () => {
    const MiB = 2 ** 20;
    const pool = new SlabPool(32 * MiB);
    const a = await PipelinedModelRunner.create(passThroughChain(2, MiB), { allocator: pool });
    const b = await PipelinedModelRunner.create(passThroughChain(2, MiB + 4096), { allocator: pool });
    assert.notEqual(a.itemBytes, b.itemBytes);
    for (let i = 0; i < 600; i++) {
      for (const [runner, bytes] of [[a, MiB], [b, MiB + 4096]] as const) {
        await runner.push([item(i, bytes)]);
        const out = (await runner.pop())!;
        assert.equal(tagOf(out.t2 as Uint8Array), i);
        runner.release(out);
      }
      assert.ok(pool.keptBytes <= 32 * MiB);
    }
    await Promise.all([a.close(), b.close()]);
    // One item in flight at a time each: a handful of slabs, not one per item.
    assert.ok(pool.created <= 8, `${pool.created} slabs created for 1200 items`);
  });

  it('failed items count against the limits until popped', async () => {
    const chain = passThroughChain(2, 64, { faults: { 0: { failOn: inOrder(10_000) } } });
    const runner = await PipelinedModelRunner.create(chain);
    // Push while anything is taken, letting the accepted items fail each time; nobody pops.
    let accepted = 0;
    for (let more = true; more && accepted <= runner.inFlightLimit; ) {
      while (runner.tryPush([item(accepted, 64)])) accepted++;
      await until(() => runner.stats().segments[0]!.failures === accepted, 'every accepted item to fail');
      more = runner.tryPush([item(accepted, 64)]);
      if (more) accepted++;
    }
    assert.equal(accepted, runner.inFlightLimit, 'failed items are not counted against the limit');
    assert.equal(runner.stats().inFlight, accepted);
    for (let i = 0; i < accepted; i++) await assert.rejects(runner.pop(), SegmentInvokeError);
    assert.equal(runner.tryPush([item(0, 64)]), true);
    await runner.close();
  });
});

describe('hang detection', () => {
  it('a main thread busy for longer than the timeout is not a hung engine', async () => {
    const runner = await PipelinedModelRunner.create(passThroughChain(2, 64), { hangTimeoutMs: 500 });
    await runner.push([item(0, 64)]);
    await runner.push([item(1, 64)]);
    // The engines answer in about no time; this thread does not listen for 1.2 s.
    const end = performance.now() + 1200;
    while (performance.now() < end);
    for (const i of [0, 1]) assert.equal(tagOf((await runner.pop())!.t2 as Uint8Array), i);
    assert.equal(runner.failure, undefined);
    await runner.close();
  });

  it('a replica that hangs fails the pipeline, and what finished before it still comes out', async () => {
    const [first, last] = passThroughChain(2, 64);
    // Replicas take items from one queue as they come free: pt:0a hangs on whatever it takes after its
    // first item, and pt:0b is slow enough that pt:0a gets more than one of the next 8.
    const replicas = [{ ...first!, device: 'pt:0a', faults: { hangOn: [1, 2, 3, 4, 5, 6, 7, 8] } }, { ...first!, device: 'pt:0b', delayMs: 100 }];
    const runner = await PipelinedModelRunner.create([replicas, last!], { hangTimeoutMs: 1000 });
    await runner.push([item(0, 64)]);
    await until(() => runner.stats().segments[1]!.count === 1, 'item 0 through');
    for (let i = 1; i <= 8; i++) await runner.push([item(i, 64)]);
    await until(() => runner.failure !== undefined, 'the hang to be noticed');
    // Those that came through before the hung one, in order, then the failure.
    let next = 0;
    await assert.rejects(
      (async () => {
        for (;;) assert.equal(tagOf((await runner.pop())!.t2 as Uint8Array), next++);
      })(),
      (err: unknown) => err instanceof PipelineFailedError && /pt:0a did not answer within 1000 ms \(hung\)/.test(err.message),
    );
    assert.ok(next >= 1 && next <= 8, `${next} item(s) came out before the failure`);
    await runner.close();
  });
});

describe('what a pycoral user does', () => {
  it('push copies the inputs: un-awaited pushes of one reused buffer come out as they were pushed', async () => {
    const runner = await PipelinedModelRunner.create(passThroughChain(2, 64, { delayMs: 2 }), { inputQueueLimit: 1, stageQueueLimit: 1 });
    const buffer = new Uint8Array(64);
    const pushes: Promise<void>[] = [];
    for (let i = 0; i < 10; i++) {
      buffer.set(item(i, 64));
      pushes.push(runner.push(buffer));
    }
    const tags: number[] = [];
    for (let i = 0; i < 10; i++) tags.push(tagOf((await runner.pop())!.t2 as Uint8Array));
    await Promise.all(pushes);
    assert.deepEqual(tags, inOrder(10));
    await runner.close();
  });

  it('release() refuses what it cannot take back; releasing a copy pop gave out is harmless', async () => {
    const runner = await PipelinedModelRunner.create(passThroughChain(1, 64), { heldOutputLimit: 1 });
    const other = await PipelinedModelRunner.create(passThroughChain(1, 64));
    for (let i = 0; i < 3; i++) await runner.push([item(i, 64)]);
    await other.push([item(9, 64)]);
    const view = (await runner.pop())!;
    const copy = (await runner.pop())!; // one view is held already: this one is a copy
    assert.equal(tagOf(copy.t1 as Uint8Array), 1);
    runner.release(copy);
    assert.throws(() => runner.release({ ...view }), (e: unknown) => e instanceof ReleaseError && /is not an output record this runner's pop\(\) returned/.test(e.message));
    assert.throws(() => runner.release(null as unknown as NamedTensors), /null is not an output record/);
    const theirs = (await other.pop())!;
    assert.throws(() => runner.release(theirs), ReleaseError);
    runner.release(view);
    assert.throws(() => runner.release(view), /released already/);
    // The view's room is back: the next pop is a view again, and its bytes intact.
    assert.equal(tagOf((await runner.pop())!.t1 as Uint8Array), 2);
    other.release(theirs);
    await Promise.all([runner.close(), other.close()]);
  });

  it('takes a Buffer, a Uint8ClampedArray or the bare typed array of a one-input pipeline; refuses bad arguments saying what was expected', async () => {
    const runner = await PipelinedModelRunner.create(passThroughChain(1, 64));
    await runner.push(Buffer.from(item(0, 64)));
    await runner.push(new Uint8ClampedArray(item(1, 64)));
    await runner.push({ t0: Buffer.from(item(2, 64)) });
    await assert.rejects(runner.push(new Uint8Array(0)), (e: unknown) => e instanceof TensorInputError && /needs 64 bytes/.test(e.message));
    await assert.rejects(runner.push(new Float32Array(16)), /tensor "t0" is uint8 but was given a Float32Array/);
    for (const bad of [null, undefined, 42, 'pixels']) {
      await assert.rejects(runner.push(bad as never), (e: unknown) => e instanceof TensorInputError && /takes the input tensors by name \("t0"\)/.test(e.message));
    }
    for (let i = 0; i < 3; i++) assert.equal(tagOf((await runner.pop())!.t1 as Uint8Array), i);
    await runner.close();
    const two = await PipelinedModelRunner.create([{ kind: 'passthrough', device: 'pt:0', inputs: [spec('a', [8]), spec('b', [8])], outputs: [spec('x', [8]), spec('y', [8])] }]);
    await assert.rejects(two.push(new Uint8Array(8)), /a single Uint8Array of 8 bytes was given but the pipeline takes 2 inputs \("a", "b"\)/);
    await two.close();
  });

  it('takes integer limits only', async () => {
    for (const [option, value] of [['inputQueueLimit', 2.5], ['byteBudget', 1e6 + 0.5], ['hangTimeoutMs', 100.1], ['heldOutputLimit', -1]] as const) {
      await assert.rejects(PipelinedModelRunner.create(passThroughChain(1, 64), { [option]: value }), (e: unknown) => e instanceof RangeError && new RegExp(`${option} must be an integer`).test(e.message));
    }
  });
});

describe('randomised', () => {
  it('thousands of items through random replicas, delays, limits and consumer pauses: every item once, in order, byte-exact, memory bounded', { timeout: 60_000 }, async () => {
    for (let seed = 1; seed <= 6; seed++) {
      const r = prng(seed);
      const stages = 2 + below(r, 3);
      const bytes = 16 + below(r, 2048);
      const replicas = Array.from({ length: stages }, () => 1 + below(r, 3));
      const delay = Array.from({ length: stages }, () => Array.from({ length: 3 }, () => below(r, 3)));
      const limits = { inputQueueLimit: 1 + below(r, 3), stageQueueLimit: 1 + below(r, 3), outputQueueLimit: 1 + below(r, 3), heldOutputLimit: below(r, 4) };
      const pool = new SlabPool(2 ** 24);
      const runner = await PipelinedModelRunner.create(withReplicas(passThroughChain(stages, bytes), replicas, (s, i) => delay[s]![i]!), { ...limits, allocator: pool, hangTimeoutMs: 10_000 });
      const count = 500;
      const bound = (runner.inFlightLimit + limits.heldOutputLimit) * runner.itemBytes;
      const producer = (async () => {
        for (let i = 0; i < count; i++) {
          if (r() < 0.5) await runner.push([item(i, bytes)]);
          else while (!runner.tryPush([item(i, bytes)])) await new Promise((resolve) => setImmediate(resolve));
        }
        await runner.close();
      })();
      const held: NamedTensors[] = [];
      const got: number[] = [];
      let dropped = 0;
      for (let out = await runner.pop(); out !== null; out = await runner.pop()) {
        const data = out[`t${stages}`] as Uint8Array;
        assert.deepEqual(data, item(tagOf(data), bytes), `seed ${seed}: item ${tagOf(data)} corrupt`);
        got.push(tagOf(data));
        // Keep some a while, release others at once, drop a few unreleased; pause now and then.
        if (r() < 0.3) held.push(out);
        else if (r() < 0.9) runner.release(out);
        else dropped++;
        if (held.length > 0 && r() < 0.2) runner.release(held.shift()!);
        if (r() < 0.05) await new Promise((resolve) => setTimeout(resolve, below(r, 5)));
        const stats = runner.stats();
        assert.ok(stats.bytesHeld <= bound, `seed ${seed}: ${stats.bytesHeld} bytes held, bound ${bound}`);
      }
      await producer;
      assert.deepEqual(got, inOrder(count), `seed ${seed}: replicas ${replicas}, limits ${JSON.stringify(limits)}`);
      for (const out of held) runner.release(out);
      // Slabs of outputs dropped unreleased cannot be reused (a view may live on): each may cost a new one.
      assert.ok(pool.created <= runner.inFlightLimit + limits.heldOutputLimit + 1 + dropped, `seed ${seed}: ${pool.created} slabs created`);
    }
  });
});
