/** The queues executors hand items through: FIFO, bounded, and exact under several threads at once. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { SharedQueue } from '../../src/pipeline/shared-queue.js';

const workerUrl = new URL('../helpers/queue-worker.js', import.meta.url);

function runWorker(data: object): Promise<void> {
  const worker = new Worker(workerUrl, { workerData: data });
  const done = new Promise<void>((resolve, reject) => {
    worker.once('message', (msg: string) => (msg === 'done' ? resolve() : reject(new Error(msg))));
    worker.once('error', reject);
  });
  return done.finally(() => void worker.terminate());
}

describe('shared queue', () => {
  it('is FIFO, holds at most its limit, and remembers the most it held', () => {
    const queue = SharedQueue.create(3);
    assert.equal(queue.take(), undefined);
    for (const seq of [10, 11, 12]) assert.equal(queue.put(seq, seq - 10), true);
    assert.equal(queue.put(13, 3), false, 'full at its limit');
    assert.deepEqual(queue.take(), { seq: 10, slab: 0 });
    assert.equal(queue.put(2 ** 40, 3), true, 'sequence numbers beyond 32 bits');
    assert.deepEqual([queue.take(), queue.take(), queue.take()], [{ seq: 11, slab: 1 }, { seq: 12, slab: 2 }, { seq: 2 ** 40, slab: 3 }]);
    assert.equal(queue.length, 0);
    assert.equal(queue.lengthMax, 3);
    // The same queue seen through its buffer, as another thread sees it.
    const other = new SharedQueue(queue.buffer);
    other.put(7, 1);
    assert.deepEqual(queue.take(), { seq: 7, slab: 1 });
  });

  it('afterPut and afterTake resolve at once when the count moved since it was read, else on the next put or take', async () => {
    const queue = SharedQueue.create(1);
    const puts = queue.puts;
    queue.put(1, 0);
    await queue.afterPut(puts);
    let taken = false;
    const waiting = queue.afterTake(queue.takes).then(() => (taken = true));
    await Promise.resolve();
    assert.equal(taken, false);
    queue.take();
    await waiting;
    assert.equal(taken, true);
    // wakeAll wakes a waiter although nothing moved (executors stop that way).
    const woken = queue.afterPut(queue.puts);
    queue.wakeAll();
    await woken;
  });

  for (const block of [false, true]) {
    it(`3 threads putting and 3 taking (${block ? 'blocking their thread' : 'in their event loops'}) through a queue of 2: every item taken exactly once`, async () => {
      const total = 6000;
      const queue = SharedQueue.create(2);
      const counts = new SharedArrayBuffer(total * 4);
      const taken = new SharedArrayBuffer(4);
      const seqs = [...Array(total).keys()];
      await Promise.all([
        ...[0, 1, 2].map((p) => runWorker({ queue: queue.buffer, role: 'put', seqs: seqs.filter((s) => s % 3 === p) })),
        ...[0, 1, 2].map(() => runWorker({ queue: queue.buffer, role: 'take', counts, taken, total, block })),
      ]);
      const each = new Int32Array(counts);
      assert.equal(each.filter((n) => n !== 1).length, 0, `items not taken exactly once: ${[...each.keys()].filter((i) => each[i] !== 1).slice(0, 5).join(', ')}`);
      assert.equal(queue.length, 0);
      assert.ok(queue.lengthMax <= 2);
    });
  }
});
