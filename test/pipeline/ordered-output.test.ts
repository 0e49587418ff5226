/** The runner's output stage on its own: items finished out of order (replicas) go out in push order. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OrderedOutput } from '../../src/pipeline/ordered-output.js';
import type { Item } from '../../src/pipeline/stage.js';

const item = (seq: number): Item => ({ seq, slab: new SharedArrayBuffer(8), pushedAt: 0 });

describe('ordered output', () => {
  it('hands items to waiting pops in push order, whatever order they finish in', async () => {
    let ended = false;
    const taken: number[] = [];
    const out = new OrderedOutput(4, () => ended, (i) => taken.push(i.seq));
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

  it('lets the next item in even when full, so the executor holding it is freed; others wait beside the limit', () => {
    const out = new OrderedOutput(2, () => false, () => {});
    out.add(item(1));
    out.add(item(2));
    assert.equal(out.hasRoom(item(0)), true, 'the next one is always let in');
    assert.equal(out.hasRoom(item(3)), true, 'while the next one is not here, others are let in too');
    out.add(item(0));
    assert.equal(out.hasRoom(item(3)), false, 'full with the next one here');
    assert.equal(out.slabsHeld, 3);
    assert.equal(out.takeNext()!.seq, 0);
    assert.equal(out.popped, 1);
  });

  it('rejects the waiting pops with the pipeline\'s failure', async () => {
    const out = new OrderedOutput(2, () => false, () => {});
    const pop = out.wait();
    out.rejectWaiters(new Error('died'));
    await assert.rejects(pop, /died/);
  });
});
