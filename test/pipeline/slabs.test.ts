/** An item's slab memory (pipeline/slabs.ts): the layout plan, the pool that reuses slabs, the runner's slabs. */
import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { analyzeChain } from '../../src/model/segment/chain.js';
import { ItemSlabs, planSlab, SlabPool, type SlabOwner, type SlabViewer } from '../../src/pipeline/slabs.js';
import { spec } from '../helpers/pipeline-specs.js';

test('the slab plan never overlaps tensors alive at once, and reuses bytes of dead ones', () => {
  const big = (name: string) => spec(name, [1000]);
  const chain = analyzeChain([
    { name: 'a', inputs: [big('in')], outputs: [big('x'), big('skip')] },
    { name: 'b', inputs: [big('x')], outputs: [big('y')] },
    { name: 'c', inputs: [big('y')], outputs: [big('z')] },
    { name: 'd', inputs: [big('z'), big('skip')], outputs: [big('out')] },
  ]);
  const layout = planSlab(chain);
  const names = [...chain.tensors.keys()];
  for (const a of names) {
    for (const b of names) {
      if (a >= b) continue;
      const ta = chain.tensors.get(a)!;
      const tb = chain.tensors.get(b)!;
      const together = ta.producer <= tb.lastUse && tb.producer <= ta.lastUse;
      const pa = layout.placements.get(a)!;
      const pb = layout.placements.get(b)!;
      const apart = pa.byteOffset + pa.byteSize <= pb.byteOffset || pb.byteOffset + pb.byteSize <= pa.byteOffset;
      if (together) assert.ok(apart, `${a} and ${b} are alive together but overlap`);
      assert.equal(pa.byteOffset % 64, 0);
    }
  }
  assert.ok(layout.byteSize < names.length * 1024, `no reuse: ${layout.byteSize} bytes for ${names.length} tensors`);
});

/** An owner that records which slabs it was told to forget. */
const owner = (): SlabOwner & { forgotten: SharedArrayBuffer[] } => {
  const forgotten: SharedArrayBuffer[] = [];
  return { forgotten, forget: (slab) => forgotten.push(slab) };
};

describe('slab pool', () => {
  it("hands a released slab back to its owner first, and tells the owner when another one takes it", () => {
    const pool = new SlabPool(1 << 20);
    const [a, b] = [owner(), owner()];
    const first = pool.acquire(64, a);
    const second = pool.acquire(64, b);
    pool.release(second, b);
    pool.release(first, a);
    assert.equal(pool.acquire(64, a), first, "a's own slab, though b's was released first");
    assert.equal(pool.acquire(64, a), second, "then b's, which b must forget");
    assert.deepEqual(b.forgotten, [second]);
    assert.deepEqual(a.forgotten, []);
    assert.equal(pool.created, 2);
  });

  it('keeps free slabs only up to its byte budget, dropping the oldest (their owners forget them)', () => {
    const pool = new SlabPool(128);
    const a = owner();
    const slabs = [pool.acquire(64, a), pool.acquire(64, a), pool.acquire(64, a)];
    for (const slab of slabs) pool.release(slab, a);
    assert.equal(pool.keptBytes, 128);
    assert.deepEqual(a.forgotten, [slabs[0]]);
    assert.equal(pool.acquire(32, a).byteLength, 32, 'another size: a new slab');
    assert.equal(pool.created, 4);
  });
});

describe("the runner's slabs", () => {
  const chain = analyzeChain([{ name: 'only', inputs: [spec('in', [4], 'float32')], outputs: [spec('out', [2], 'int16')] }]);
  const layout = planSlab(chain);
  const viewer = () => {
    const seen: string[] = [];
    const v: SlabViewer = { introduce: (id) => seen.push(`introduce ${id}`), forget: (id) => seen.push(`forget ${id}`) };
    return { v, seen };
  };

  it('introduces a slab to every executor once, under an id, and has them forget it when it leaves', () => {
    const [x, y] = [viewer(), viewer()];
    const pool = new SlabPool(0);
    const slabs = new ItemSlabs(pool, layout, chain.inputs, chain.outputs, [x.v, y.v]);
    const slab = slabs.acquire();
    assert.equal(slabs.id(slab), 0);
    assert.equal(slabs.id(slab), 0);
    assert.equal(slabs.id(slabs.acquire()), 1);
    // A pool that keeps nothing drops the slab at once: the executors must let it go.
    slabs.release(slab);
    assert.deepEqual(x.seen, ['introduce 0', 'introduce 1', 'forget 0']);
    assert.deepEqual(y.seen, x.seen);
    assert.equal(slabs.used, 2);
  });

  it("writes an item's inputs at their place and reads its outputs as views or copies of their type", () => {
    const slabs = new ItemSlabs(new SlabPool(1 << 20), layout, chain.inputs, chain.outputs, []);
    const slab = slabs.acquire();
    slabs.writeInputs(slab, { in: new Float32Array([1.5, -2, 3, 4]) });
    const place = layout.placements.get('in')!;
    assert.deepEqual([...new Float32Array(slab, place.byteOffset, 4)], [1.5, -2, 3, 4]);
    const out = layout.placements.get('out')!;
    new Int16Array(slab, out.byteOffset, 2).set([-7, 9]);
    const view = slabs.viewOutputs(slab).out!;
    const copy = slabs.copyOutputs({ out: view }).out!;
    assert.ok(view instanceof Int16Array && copy instanceof Int16Array);
    assert.equal(view.buffer, slab, 'a view of the slab');
    new Int16Array(slab, out.byteOffset, 2).set([1, 1]);
    assert.deepEqual([[...view], [...copy]], [[1, 1], [-7, 9]], 'the copy keeps the values it was made with');
  });

  it("refuses a slab smaller than the layout from a caller's allocator", () => {
    const small = { acquire: () => new SharedArrayBuffer(8), release: () => {} };
    const slabs = new ItemSlabs(small, layout, chain.inputs, chain.outputs, []);
    assert.throws(() => slabs.acquire(), /allocator gave a slab of 8 bytes; items need \d+/);
  });
});
