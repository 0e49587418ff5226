import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type NamedTensors, TensorInputError } from '../../src/tensors/tensor.js';
import { EngineError } from '../../src/devices/engine.js';
import { ChainError } from '../../src/model/segment/chain.js';
import { PipelineClosedError, PipelineFailedError, SegmentInvokeError } from '../../src/pipeline/errors.js';
import { PipelinedModelRunner } from '../../src/pipeline/runner.js';
import { SlabPool } from '../../src/pipeline/slabs.js';
import { liveExecutorWorkers } from '../../src/pipeline/worker-executor.js';
import { passThroughChain, spec } from '../helpers/pipeline-specs.js';
import { until } from '../helpers/fault-tools.js';

const BYTES = 1024;

/** An input whose bytes all derive from `tag`, so any mix-up or corruption shows. */
function item(tag: number, bytes = BYTES): Uint8Array {
  const data = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) data[i] = (tag * 31 + i * 7) & 255;
  data[0] = tag & 255;
  data[1] = tag >> 8;
  return data;
}
const tagOf = (out: Uint8Array) => out[0]! | (out[1]! << 8);

test('four stages, three producers and two consumers: every item once, FIFO, bytes intact', async () => {
  const runner = await PipelinedModelRunner.create(passThroughChain(4, BYTES));
  const perProducer = 40;
  const producers = [0, 1, 2].map(async (p) => {
    for (let i = 0; i < perProducer; i++) await runner.push({ t0: item(p * 1000 + i) });
  });
  const popped: number[] = [];
  const consumers = [0, 1].map(async () => {
    for (let out = await runner.pop(); out !== null; out = await runner.pop()) {
      const data = out.t4 as Uint8Array;
      assert.deepEqual(data, item(tagOf(data)));
      popped.push(tagOf(data));
      runner.release(out);
    }
  });
  await Promise.all(producers);
  await runner.push([]);
  await Promise.all(consumers);
  assert.equal(popped.length, 3 * perProducer);
  assert.equal(new Set(popped).size, popped.length);
  for (const p of [0, 1, 2]) {
    const mine = popped.filter((t) => Math.floor(t / 1000) === p);
    assert.deepEqual(mine, [...mine].sort((a, b) => a - b), `producer ${p}'s items out of order`);
  }
  const stats = runner.stats();
  assert.deepEqual(stats.segments.map((s) => s.count), [120, 120, 120, 120]);
  assert.equal(stats.pushed, 120);
  assert.equal(stats.popped, 120);
  assert.equal(stats.inFlight, 0);
  assert.ok(stats.segments.every((s) => s.busyMsTotal > 0 && s.latencyMsP99 >= s.latencyMsP50 && s.latencyMsP50 > 0));
  assert.equal(await runner.pop(), null);
});

test('push checks names, dtypes, sizes and counts, naming the tensor', async () => {
  const runner = await PipelinedModelRunner.create(passThroughChain(2, BYTES));
  try {
    await assert.rejects(runner.push({ nope: item(0) }), (e: unknown) => e instanceof TensorInputError && /missing input tensor "t0"/.test(e.message));
    await assert.rejects(runner.push({ t0: new Int8Array(BYTES) }), /tensor "t0" is uint8 but was given a Int8Array/);
    await assert.rejects(runner.push({ t0: new Uint8Array(3) }), /tensor "t0" needs 1024 bytes .* given 3/);
    await assert.rejects(runner.push({ t0: item(0), extra: item(1) }), /unknown input tensor "extra"/);
    await assert.rejects(runner.push([item(0), item(1)]), /2 tensors given but the pipeline takes 1 \("t0"\)/);
    await runner.push([item(7)]);
    const out = await runner.pop();
    assert.deepEqual(Object.keys(out!), ['t2']);
    assert.deepEqual(out!.t2, item(7));
  } finally {
    await runner.close();
  }
});

test('close: twice is fine, in-flight items still drain, push after close rejects, pop stays null', async () => {
  const runner = await PipelinedModelRunner.create(passThroughChain(3, BYTES, { delayMs: 2 }));
  for (let i = 0; i < 6; i++) await runner.push([item(i)]);
  const closing = runner.close();
  await assert.rejects(runner.push([item(99)]), PipelineClosedError);
  assert.throws(() => runner.tryPush([item(99)]), PipelineClosedError);
  await Promise.all([closing, runner.close()]);
  const tags: number[] = [];
  for await (const out of runner) tags.push(tagOf(out.t3 as Uint8Array));
  assert.deepEqual(tags, [0, 1, 2, 3, 4, 5]);
  assert.equal(await runner.pop(), null);
  assert.equal(await runner.pop(), null);
  await runner.close();
});

test('a push waiting for room when the pipeline closes rejects; waiting pops end with null', async () => {
  const runner = await PipelinedModelRunner.create(passThroughChain(1, BYTES, { delayMs: 5 }), {
    inputQueueLimit: 1,
    outputQueueLimit: 1,
    byteBudget: 2 * 1024 * 3,
  });
  const pushes = Array.from({ length: 6 }, (_, i) => runner.push([item(i)]));
  const settled = Promise.allSettled(pushes);
  await runner.push([]);
  const results = await settled;
  const accepted = results.filter((r) => r.status === 'fulfilled').length;
  assert.ok(accepted >= 1 && accepted < 6, `accepted ${accepted}`);
  for (const r of results.filter((r) => r.status === 'rejected')) {
    assert.ok((r as PromiseRejectedResult).reason instanceof PipelineClosedError);
  }
  const pops = Array.from({ length: accepted + 2 }, () => runner.pop());
  const outs = await Promise.all(pops);
  assert.deepEqual(outs.slice(0, accepted).map((o) => tagOf(o!.t1 as Uint8Array)), [...Array(accepted).keys()]);
  assert.deepEqual(outs.slice(accepted), [null, null]);
});

test('bounded: in flight never beyond the byte budget or the queue limits; tryPush says full', async () => {
  const budgetItems = 3;
  const probe = await PipelinedModelRunner.create(passThroughChain(2, BYTES));
  const itemBytes = probe.itemBytes;
  await probe.close();
  const runner = await PipelinedModelRunner.create(passThroughChain(2, BYTES, { delayMs: 1 }), { byteBudget: budgetItems * itemBytes });
  let maxInFlight = 0;
  let refused = 0;
  const producer = (async () => {
    for (let i = 0; i < 30; i++) {
      if (!runner.tryPush([item(i)])) {
        refused++;
        await runner.push([item(i)]);
      }
      maxInFlight = Math.max(maxInFlight, runner.stats().inFlight);
    }
    await runner.close();
  })();
  let n = 0;
  for await (const out of runner) {
    await new Promise((resolve) => setTimeout(resolve, 3));
    assert.equal(tagOf(out.t2 as Uint8Array), n++);
    maxInFlight = Math.max(maxInFlight, runner.stats().inFlight);
  }
  await producer;
  assert.equal(n, 30);
  assert.equal(maxInFlight, budgetItems, 'the budget bounds, and a slow consumer fills it');
  assert.ok(refused > 0);

  // Queue limits with an ample budget: at most input + 1 per executor + between + output.
  const limited = await PipelinedModelRunner.create(passThroughChain(3, BYTES, { delayMs: 1 }), {
    inputQueueLimit: 2,
    stageQueueLimit: 1,
    outputQueueLimit: 1,
  });
  const bound = 2 + 3 * 1 + 2 * 1 + 1;
  assert.equal(limited.inFlightLimit, bound);
  let seen = 0;
  for (let i = 0; i < 40; i++) {
    if (!limited.tryPush([item(i)])) break;
    seen = Math.max(seen, limited.stats().inFlight);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  // Until the items pushed have gone through every queue to the last segment (nothing pops: they pile up there).
  await until(() => limited.stats().segments.at(-1)!.count > 0, 'an item through the last segment');
  const stats = limited.stats();
  assert.ok(Math.max(seen, stats.inFlight) <= bound, `in flight ${stats.inFlight} > ${bound}`);
  assert.ok(stats.segments[0]!.queueDepthMax <= 2 && stats.segments.slice(1).every((s) => s.queueDepthMax <= 1), JSON.stringify(stats.segments));
  await limited.close();
});

test('a steady stream with released outputs reuses its slabs, from the default pool or one given', async () => {
  // Mobilenet-sized tensors: a default pool that kept too few bytes made a slab per item for these.
  const bytes = 224 * 224 * 3;
  const pool = new SlabPool(64 * 4 * bytes);
  let inFlightLimit = 0;
  for (const allocator of [undefined, pool]) {
    const runner = await PipelinedModelRunner.create(passThroughChain(3, bytes), allocator ? { allocator } : {});
    const producer = (async () => {
      for (let i = 0; i < 300; i++) await runner.push([item(i, bytes)]);
      await runner.close();
    })();
    let n = 0;
    for await (const out of runner) {
      assert.equal(tagOf(out.t3 as Uint8Array), n++);
      runner.release(out);
    }
    await producer;
    assert.equal(n, 300);
    // The items in flight, the one a waiting push was written into, and one being released: not one per item.
    const { slabsUsed } = runner.stats();
    inFlightLimit = runner.inFlightLimit;
    assert.ok(slabsUsed <= runner.inFlightLimit + 2, `${slabsUsed} slabs used for 300 items (${allocator ? 'given pool' : 'default pool'})`);
  }
  assert.ok(pool.created <= inFlightLimit + 2, `${pool.created} slabs created for 300 items`);
});

test('replicas take items in turn and order is kept', async () => {
  const segments = passThroughChain(3, BYTES, { delayMs: 2 });
  const runner = await PipelinedModelRunner.create(segments, { devices: ['pt:0', ['pt:1a', 'pt:1b', 'pt:1c'], 'pt:2'] });
  const producer = (async () => {
    for (let i = 0; i < 30; i++) await runner.push([item(i)]);
    await runner.close();
  })();
  const tags: number[] = [];
  for await (const out of runner) tags.push(tagOf(out.t3 as Uint8Array));
  await producer;
  assert.deepEqual(tags, [...Array(30).keys()]);
  const middle = runner.stats().segments[1]!;
  assert.deepEqual(middle.devices, ['pt:1a', 'pt:1b', 'pt:1c']);
  assert.equal(middle.count, 30);
  // Each replica's share, for per-device stats: the shares add up (how the 30 spread is the scheduler's).
  assert.deepEqual(middle.executors.map((e) => e.device), middle.devices);
  assert.ok(middle.executors.every((e) => e.failures === 0 && e.count > 0 === e.busyMsTotal > 0), JSON.stringify(middle.executors));
  assert.equal(middle.executors.reduce((n, e) => n + e.count, 0), 30);
  assert.ok(Math.abs(middle.executors.reduce((n, e) => n + e.busyMsTotal, 0) - middle.busyMsTotal) < 1e-6);
});

test('stats say which segment waits on which: a fast one before a slow one is blocked, one after it idles', async () => {
  const [first, second] = passThroughChain(2, BYTES);
  for (const slowFirst of [false, true]) {
    const slow = { delayMs: 20 };
    const segments = slowFirst ? [{ ...first!, ...slow }, second!] : [first!, { ...second!, ...slow }];
    const runner = await PipelinedModelRunner.create(segments, { stageQueueLimit: 1 });
    const producer = (async () => {
      for (let i = 0; i < 12; i++) await runner.push([item(i)]);
      await runner.close();
    })();
    for await (const out of runner) runner.release(out);
    await producer;
    const [s0, s1] = runner.stats().segments;
    const ms = (s: typeof s0) => `busy ${s!.busyMsTotal.toFixed(1)} idle ${s!.idleMsTotal.toFixed(1)} blocked ${s!.blockedMsTotal.toFixed(1)}`;
    const why = `slow ${slowFirst ? 'first' : 'second'}: segment 0 ${ms(s0)}, segment 1 ${ms(s1)}`;
    // Compared with each other, not with zero: a loaded machine can delay any thread a little.
    if (slowFirst) assert.ok(s1!.idleMsTotal > s0!.idleMsTotal && s1!.idleMsTotal > s1!.busyMsTotal, why);
    else assert.ok(s0!.blockedMsTotal > s1!.blockedMsTotal && s0!.blockedMsTotal > s0!.busyMsTotal, why);
    assert.deepEqual(s0!.executors.map((e) => e.blockedMsTotal), [s0!.blockedMsTotal]);
  }
});

test('waiting consumers get items in order when replicas finish out of order against a full output queue', async () => {
  const [first, last] = passThroughChain(2, BYTES);
  // Replicas of unequal speed finish items out of order.
  const replicas = [1, 7, 3].map((delayMs, r) => ({ ...last!, device: `pt:1${'abc'[r]}`, delayMs }));
  const runner = await PipelinedModelRunner.create([first!, replicas], { outputQueueLimit: 1 });
  const popped: number[] = [];
  const consumers = [0, 1, 2].map(async () => {
    for (let out = await runner.pop(); out !== null; out = await runner.pop()) popped.push(tagOf(out.t2 as Uint8Array));
  });
  for (let i = 0; i < 60; i++) await runner.push([item(i)]);
  await runner.close();
  await Promise.all(consumers);
  assert.deepEqual(popped, [...Array(60).keys()]);
});

test('replicas of a middle segment finishing out of order never wedge the single last segment and the output', async () => {
  // Replica 1a is slow: items overtake the ones it holds, fill the output (limit 1) and the queue of the
  // last segment, and the item pop waits for must still get through them.
  const chain = passThroughChain(3, BYTES);
  const middle = [10, 0, 0].map((delayMs, r) => ({ ...chain[1]!, device: `pt:1${'abc'[r]}`, ...(delayMs > 0 && { delayMs }) }));
  const runner = await PipelinedModelRunner.create([chain[0]!, middle, chain[2]!], { stageQueueLimit: 1, outputQueueLimit: 1 });
  const producer = (async () => {
    for (let i = 0; i < 40; i++) await runner.push([item(i)]);
    await runner.close();
  })();
  const tags: number[] = [];
  for await (const out of runner) tags.push(tagOf(out.t3 as Uint8Array));
  await producer;
  assert.deepEqual(tags, [...Array(40).keys()]);
});

test('a failing invoke rejects only that item, naming segment, device and cause', async () => {
  const runner = await PipelinedModelRunner.create(passThroughChain(3, BYTES, { faults: { 1: { failOn: [2] } } }));
  for (let i = 0; i < 5; i++) await runner.push([item(i)]);
  await runner.close();
  for (let i = 0; i < 5; i++) {
    if (i === 2) {
      await assert.rejects(runner.pop(), (e: unknown) =>
        e instanceof SegmentInvokeError && e.segment === 'segment 1' && e.device === 'pt:1' && /^segment 1 on pt:1 failed: EngineError: .*on purpose at invoke 2/.test(e.message));
    } else {
      const out = await runner.pop();
      assert.deepEqual(out!.t3, item(i));
    }
  }
  assert.equal(await runner.pop(), null);
  const stats = runner.stats();
  assert.equal(stats.segments[1]!.failures, 1);
  assert.deepEqual(stats.segments.map((s) => s.count), [5, 4, 4]);
});

test('an executor that crashes mid-stream fails the pipeline: pending and later calls reject, close resolves', async () => {
  const runner = await PipelinedModelRunner.create(passThroughChain(3, BYTES, { faults: { 2: { crashOn: [3] } } }));
  const pops = Array.from({ length: 6 }, () => runner.pop());
  const first = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => runner.push([item(i)])));
  const results = await Promise.allSettled(pops);
  // Items before the crash may or may not have been delivered first (the crash report and their
  // answers travel on different channels); the rest all reject with the one failure.
  const delivered = results.findIndex((r) => r.status === 'rejected');
  assert.ok(delivered >= 0 && delivered <= 3, `${delivered} items delivered`);
  results.slice(0, delivered).forEach((r, i) => assert.deepEqual((r as PromiseFulfilledResult<NamedTensors>).value.t3, item(i)));
  const failure = results[delivered] as PromiseRejectedResult;
  assert.ok(failure.reason instanceof PipelineFailedError, String(failure.reason));
  assert.match(failure.reason.message, /^pipeline failed: segment 2 on pt:2 died: .*crashed on purpose at invoke 3/);
  assert.ok(results.slice(delivered).every((r) => r.status === 'rejected' && r.reason === failure.reason));
  assert.ok(first.every((r) => r.status === 'fulfilled' || (r as PromiseRejectedResult).reason === failure.reason));
  await assert.rejects(runner.push([item(9)]), (e: unknown) => e === failure.reason);
  await assert.rejects(runner.pop(), (e: unknown) => e === failure.reason);
  await runner.close();
  await runner.close();
});

test('a hung segment is reported after the timeout and ends the pipeline', async () => {
  // The timeout must outlast a healthy invoke whose thread a loaded machine leaves waiting; and item 0
  // is through before item 1 (which hangs) goes in, so only the hung one can be the one reported.
  const runner = await PipelinedModelRunner.create(passThroughChain(2, BYTES, { faults: { 1: { hangOn: [1] } } }), { hangTimeoutMs: 1500 });
  await runner.push([item(0)]);
  assert.deepEqual((await runner.pop())!.t2, item(0));
  await runner.push([item(1)]);
  await assert.rejects(runner.pop(), (e: unknown) =>
    e instanceof PipelineFailedError && e.segment === 'segment 1' && e.device === 'pt:1' && /^pipeline failed: segment 1 on pt:1 did not answer within 1500 ms \(hung\)/.test(e.message));
  await runner.close();
});

test('create refuses a broken chain or a failing engine, and leaves no worker behind', async () => {
  const before = liveExecutorWorkers();
  const broken = passThroughChain(3, BYTES);
  await assert.rejects(PipelinedModelRunner.create([broken[0]!, broken[2]!]), (e: unknown) =>
    e instanceof ChainError && /segment 0 produces "t1" but no later segment reads it/.test(e.message));
  const bad = { kind: 'passthrough' as const, device: 'pt:x', inputs: [spec('a', [4])], outputs: [spec('b', [8])] };
  await assert.rejects(PipelinedModelRunner.create([bad]), (e: unknown) =>
    e instanceof EngineError && e.device === 'pt:x' && /^segment 0: could not open passthrough engine on pt:x: .*"b" has 8 bytes/.test(e.message));
  const hangs = passThroughChain(2, BYTES, { faults: { 1: { hangOnOpen: true } } });
  await assert.rejects(PipelinedModelRunner.create(hangs, { openTimeoutMs: 2000 }), (e: unknown) =>
    e instanceof EngineError && e.device === 'pt:1' && /^segment 1: could not open passthrough engine on pt:1: did not open within 2000 ms/.test(e.message));
  await assert.rejects(PipelinedModelRunner.create(passThroughChain(1, BYTES), { stageQueueLimit: 0 }), /stageQueueLimit must be an integer >= 1/);
  await assert.rejects(PipelinedModelRunner.create(passThroughChain(1, BYTES), { byteBudget: 100 }), /byteBudget 100 is smaller than one item/);
  await until(() => liveExecutorWorkers() <= before, () => `the workers of the refused pipelines to exit: ${liveExecutorWorkers() - before} left`);
  assert.equal(liveExecutorWorkers(), before);
});

test('outputs by name: a record view per output, two-input pipelines take arrays in input order', async () => {
  const a = spec('a', [8]);
  const b = spec('b', [2], 'int32');
  const runner = await PipelinedModelRunner.create([
    { kind: 'passthrough', device: 'pt:0', inputs: [a], outputs: [spec('x', [8])] },
    { kind: 'passthrough', device: 'pt:1', inputs: [spec('x', [8]), b], outputs: [spec('y', [8]), spec('z', [2], 'int32')] },
  ]);
  assert.deepEqual(runner.inputs.map((s) => s.name), ['a', 'b']);
  await runner.push([new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), new Int32Array([-5, 70000])]);
  const out = (await runner.pop()) as NamedTensors;
  assert.deepEqual(out.y, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
  assert.deepEqual(out.z, new Int32Array([-5, 70000]));
  await runner.close();
});

test('run: overlapping calls each get their own item; a failed inference or a bad input rejects its own call only', async () => {
  const runner = await PipelinedModelRunner.create(passThroughChain(3, BYTES, { faults: { 1: { failOn: [2] } } }));
  // More calls than the pipeline holds at once: the later ones wait for room (backpressure).
  // Settled as they come (a rejection nobody awaits yet is not left unhandled), awaited below in any order.
  const calls = Array.from({ length: 12 }, (_, i) => runner.run([item(i)]).then((out) => ({ out }), (err: unknown) => ({ err })));
  const wrongSize = runner.run([new Uint8Array(3)]);
  const wrongName = runner.run({ nope: item(99) });
  const more = runner.run([item(12)]);
  await assert.rejects(wrongSize, TensorInputError);
  await assert.rejects(wrongName, TensorInputError);
  // Awaited newest first: each call still gets its own item.
  assert.deepEqual((await more).t3, item(12));
  for (let i = calls.length - 1; i >= 0; i--) {
    const call = await calls[i]!;
    if (i === 2) {
      assert.ok('err' in call && call.err instanceof SegmentInvokeError && call.err.segment === 'segment 1', `call 2: ${JSON.stringify(call)}`);
      continue;
    }
    assert.ok('out' in call, `call ${i}: ${String((call as { err: unknown }).err)}`);
    assert.deepEqual(call.out.t3, item(i), `call ${i}`);
    runner.release(call.out);
  }
  assert.equal(runner.stats().inFlight, 0);
  await runner.close();
});

test('run: a failed pipeline rejects, with PipelineFailedError, each call whose item had not come through', async () => {
  const runner = await PipelinedModelRunner.create(passThroughChain(3, BYTES, { faults: { 2: { crashOn: [3] } } }));
  const calls = Array.from({ length: 6 }, (_, i) => runner.run([item(i)]));
  const settled = await Promise.allSettled(calls);
  // As with pop: items before the crash may or may not come through first; the rest reject.
  const through = settled.findIndex((s) => s.status === 'rejected');
  assert.ok(through >= 0 && through <= 3, `${through} calls answered`);
  for (const [i, s] of settled.entries()) {
    if (i < through) assert.deepEqual((s as PromiseFulfilledResult<NamedTensors>).value.t3, item(i), `call ${i}`);
    else assert.ok(s.status === 'rejected' && s.reason instanceof PipelineFailedError, `call ${i}: ${String((s as PromiseRejectedResult).reason)}`);
  }
  await assert.rejects(runner.run([item(9)]), PipelineFailedError);
  await runner.close();
});

test('run and push/pop do not mix on one runner: each says to use one or the other', async () => {
  const calls = await PipelinedModelRunner.create(passThroughChain(2, BYTES));
  {
    const out = await calls.run([item(1)]);
    calls.release(out);
  }
  await assert.rejects(calls.pop(), /pop: this runner is used through run\(\).*use one or the other/);
  await assert.rejects(calls.push([item(2)]), /push: this runner is used through run\(\)/);
  await calls.close();
  const stream = await PipelinedModelRunner.create(passThroughChain(2, BYTES));
  await stream.push([item(1)]);
  await assert.rejects(stream.run([item(2)]), /run: this runner is fed with push\(\) and pop\(\).*use one or the other/);
  stream.release((await stream.pop())!);
  await stream.close();
});
