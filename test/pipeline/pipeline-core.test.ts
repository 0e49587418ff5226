/** The runner's core: its output on its own, items finished out of order (replicas) going out in push order. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OrderedOutput } from '../../src/pipeline/pipeline-core.js';
import type { Item } from '../../src/pipeline/stage.js';

const item = (seq: number): Item => ({ seq, slab: new SharedArrayBuffer(8), pushedAt: 0 });

describe('ordered output', () => {
  it('hands items to waiting pops in push order, whatever order they finish in', async () => {
    let ended = false;
    const taken: number[] = [];
    const out = new OrderedOutput(() => ended, (i) => taken.push(i.seq));
    const pops = [out.wait(), out.wait(), out.wait()];
    out.add(item(2));
    out.add(item(1));
    out.deliver();
    assert.equal(out.waiting, true, 'nothing goes out before item 0');
    out.add(item(0));
    out.deliver();
    assert.deepEqual((await Promise.all(pops)).map((i) => i!.seq), [0, 1, 2]);
    assert.deepEqual(taken, [0, 1, 2]);
    ended = true;
    const last = out.wait();
    out.deliver();
    assert.equal(await last, null, 'closed and drained: null');
  });

  it('takes the next item only once it is here, and counts the slabs finished items hold', () => {
    const out = new OrderedOutput(() => false, () => {});
    out.add(item(1));
    out.add({ ...item(2), slab: undefined });
    assert.equal(out.nextFinished, false);
    assert.equal(out.takeNext(), undefined, 'item 0 is not here');
    out.add(item(0));
    assert.equal(out.slabsHeld, 2, 'the failed item 2 gave its slab back');
    assert.equal(out.takeNext()!.seq, 0);
    assert.equal(out.popped, 1);
  });

  it('rejects the waiting pops with the pipeline\'s failure', async () => {
    const out = new OrderedOutput(() => false, () => {});
    const pop = out.wait();
    out.rejectWaiters(new Error('died'));
    await assert.rejects(pop, /died/);
  });
});
