/**
 * The limit of Node's own messaging for a pipeline, with no runner logic: a chain of worker_threads
 * passing slot numbers over MessageChannels, each slot's tensors in shared memory, each stage copying
 * its input region into its output region (as the pass-through engine copies 150 KB per stage). The
 * main thread writes an item's input into a free slot, posts the slot to the first worker, and takes
 * it back from the last; `inFlight` slots circulate. Issue 18 measures the runner against this.
 */
import { MessageChannel, Worker } from 'node:worker_threads';

/** Each worker: on a slot number, copy region `stage` to region `stage + 1` of that slot, pass it on. */
const STAGE_CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const { stage, bytes, regions, slots, input, output } = workerData;
const views = slots.map((sab) => Array.from({ length: regions }, (_, r) => new Uint8Array(sab, r * bytes, bytes)));
input.on('message', (slot) => {
  views[slot][stage + 1].set(views[slot][stage]);
  output.postMessage(slot);
});
parentPort.postMessage('ready');
`;

export interface ChainResult {
  readonly items: number;
  readonly itemsPerSecond: number;
}

/** Streams `count` items (after `warmup`) of `bytes` through `stages` chained workers, `inFlight` at a time. */
export async function workerChain(stages: number, bytes: number, count: number, inFlight: number, warmup = 1000): Promise<ChainResult> {
  const regions = stages + 1;
  const slots = Array.from({ length: inFlight }, () => new SharedArrayBuffer(regions * bytes));
  const ports = Array.from({ length: stages + 1 }, () => new MessageChannel());
  const workers = Array.from({ length: stages }, (_, stage) => {
    const input = ports[stage]!.port2;
    const output = ports[stage + 1]!.port1;
    return new Worker(STAGE_CODE, { eval: true, workerData: { stage, bytes, regions, slots, input, output }, transferList: [input, output] });
  });
  try {
    await Promise.all(workers.map((w) => new Promise((resolve) => w.once('message', resolve))));
    const first = ports[0]!.port1;
    const last = ports[stages]!.port2;
    const source = new Uint8Array(bytes).fill(7);
    const inputs = slots.map((sab) => new Uint8Array(sab, 0, bytes));
    const run = (n: number) =>
      new Promise<number>((resolve) => {
        const start = performance.now();
        let sent = 0;
        let received = 0;
        const send = (slot: number) => {
          inputs[slot]!.set(source);
          first.postMessage(slot);
          sent++;
        };
        last.on('message', (slot: number) => {
          received++;
          if (received === n) {
            last.removeAllListeners('message');
            resolve(performance.now() - start);
          } else if (sent < n) send(slot);
        });
        for (let slot = 0; slot < Math.min(inFlight, n); slot++) send(slot);
      });
    await run(warmup);
    const ms = await run(count);
    return { items: count, itemsPerSecond: (count * 1000) / ms };
  } finally {
    // The other ports went to the workers, which terminate takes with them.
    ports[0]!.port1.close();
    ports[stages]!.port2.close();
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
