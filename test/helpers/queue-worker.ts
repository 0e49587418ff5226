/**
 * A worker thread for the SharedQueue tests: puts the sequence numbers it is given, or takes items and
 * counts each one in shared memory until `total` have been taken by all takers together.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SharedQueue } from '../../src/pipeline/shared-queue.js';

interface Job {
  readonly queue: SharedArrayBuffer;
  readonly role: 'put' | 'take';
  /** put: the sequence numbers to put. */
  readonly seqs?: readonly number[];
  /** take: counts per sequence number, and cell 0 of `taken` the items taken by every taker. */
  readonly counts?: SharedArrayBuffer;
  readonly taken?: SharedArrayBuffer;
  readonly total?: number;
  /** take: block the thread (as executors do briefly) instead of waiting in the event loop. */
  readonly block?: boolean;
}

const job = workerData as Job;
// An async wait does not keep a thread alive; a listening port does, as in the executors.
parentPort!.on('message', () => {});
const queue = new SharedQueue(job.queue);

async function put(seqs: readonly number[]): Promise<void> {
  for (const seq of seqs) {
    for (let takes = queue.takes; !queue.put(seq, seq % 7); takes = queue.takes) await queue.afterTake(takes);
  }
}

async function take(counts: Int32Array, taken: Int32Array, total: number, block: boolean): Promise<void> {
  const finished = allTaken(taken, total);
  while (Atomics.load(taken, 0) < total) {
    const puts = queue.puts;
    const item = queue.take();
    if (!item) {
      if (!block || !queue.putWithin(puts, 5)) await Promise.race([queue.afterPut(puts), finished]);
      continue;
    }
    if (item.slab !== item.seq % 7) throw new Error(`item ${item.seq} came with slab ${item.slab}`);
    Atomics.add(counts, item.seq, 1);
    if (Atomics.add(taken, 0, 1) + 1 === total) Atomics.notify(taken, 0);
  }
}

/** Resolves once every item has been taken (by any taker). */
async function allTaken(taken: Int32Array, total: number): Promise<void> {
  for (let n = Atomics.load(taken, 0); n < total; n = Atomics.load(taken, 0)) {
    const wait = Atomics.waitAsync(taken, 0, n);
    if (wait.async) await wait.value;
  }
}

const done = job.role === 'put' ? put(job.seqs!) : take(new Int32Array(job.counts!), new Int32Array(job.taken!), job.total!, job.block ?? false);
done.then(
  () => parentPort!.postMessage('done'),
  (err: unknown) => parentPort!.postMessage(String(err)),
);
