/**
 * Worker thread entry: opens one engine, then takes items from its segment's queue one at a time,
 * runs them reading inputs from and writing outputs into the item's shared slab, and puts each into
 * the next segment's queue (or the output's). Items reach the runner's thread only as failures and at
 * the end; nothing but slab handles crosses threads.
 */
import { parentPort } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import type { Engine } from '../devices/engine.js';
import { type NamedTensors, bytesOf } from '../tensors/tensor.js';
import { EngineError } from '../devices/engine.js';
import { openEngine } from '../devices/open-engine.js';
import { ExecutorCounters } from './executor-counters.js';
import { viewsAt, type Placement } from './slabs.js';
import { InvokeClock } from './invoke-clock.js';
import { SharedQueue } from './shared-queue.js';
import type { FromWorker, ToWorker } from './worker-protocol.js';
import { errorInfo } from './worker-protocol.js';

/** Engines that can write outputs into given arrays (the pass-through engine) skip a copy. */
type WritesInto = Engine & { invokeInto(inputs: NamedTensors, outputs: NamedTensors): Promise<void> };
const writesInto = (e: Engine): e is WritesInto => typeof (e as Partial<WritesInto>).invokeInto === 'function';

/**
 * How long an executor with nothing to do (or nowhere to put its item) blocks its thread waiting,
 * before it waits in its event loop, where messages (slabs, close) get read.
 */
const BLOCK_MS = 2;

const port = parentPort!;
const post = (msg: FromWorker) => port.postMessage(msg);

let engine: Engine | undefined;
let clock: InvokeClock | undefined;
let counters: ExecutorCounters | undefined;
let outputs: readonly Placement[] = [];
let closing = false;
/** The queues this executor takes from and puts into, once connected. */
let queues: { from: SharedQueue; to: SharedQueue } | undefined;

/** This segment's input and output views of each known slab, made once per slab. */
interface SlabViews {
  readonly inputs: NamedTensors;
  readonly outputs: NamedTensors;
}
let makeViews: ((slab: SharedArrayBuffer) => SlabViews) | undefined;
const slabs = new Map<number, SlabViews>();
/**
 * An item may come through a queue before its slab's introduction, posted earlier by the runner's
 * thread, has been read here: the executor waits for it.
 */
const awaited = new Map<number, () => void>();

async function slabViews(id: number): Promise<SlabViews> {
  const known = slabs.get(id);
  if (known) return known;
  await new Promise<void>((resolve) => awaited.set(id, resolve));
  return slabs.get(id)!;
}

async function runOne(engine: Engine, slab: SlabViews): Promise<void> {
  if (writesInto(engine)) return engine.invokeInto(slab.inputs, slab.outputs);
  const result = await engine.invoke(slab.inputs);
  for (const p of outputs) {
    const data = result[p.name];
    if (!data) throw new EngineError(`engine returned no output "${p.name}"`, engine.device);
    if (data.byteLength !== p.byteSize) {
      throw new EngineError(`output "${p.name}" has ${data.byteLength} bytes, expected ${p.byteSize}`, engine.device);
    }
    bytesOf(slab.outputs[p.name]!).set(bytesOf(data));
  }
}

/** Takes, runs and hands on items until the executor closes. */
async function work(from: SharedQueue, to: SharedQueue): Promise<void> {
  while (!closing) {
    const puts = from.puts;
    const item = from.take();
    if (!item) {
      const waiting = performance.now();
      if (!from.putWithin(puts, BLOCK_MS)) await from.afterPut(puts);
      counters!.idle(performance.now() - waiting);
      continue;
    }
    const taken = performance.now();
    const slab = await slabViews(item.slab);
    const start = performance.now();
    clock!.started();
    let ok = true;
    try {
      await runOne(engine!, slab);
    } catch (err) {
      ok = false;
      post({ type: 'failed', seq: item.seq, error: errorInfo(err) });
    }
    clock!.ended();
    const end = performance.now();
    counters!.record(ok, end - start, end - taken);
    if (!ok) continue;
    // Held here while the next queue is full: the backpressure.
    for (let takes = to.takes; !to.put(item.seq, item.slab); takes = to.takes) {
      const waiting = performance.now();
      if (!to.takeWithin(takes, BLOCK_MS)) await to.afterTake(takes);
      counters!.blocked(performance.now() - waiting);
    }
  }
}

port.on('message', (msg: ToWorker) => {
  switch (msg.type) {
    case 'open':
      clock = new InvokeClock(msg.clock);
      counters = new ExecutorCounters(msg.counters);
      openEngine(msg.spec).then(
        (opened) => {
          engine = opened;
          post({ type: 'opened', device: opened.device, inputs: [...opened.inputs], outputs: [...opened.outputs] });
        },
        (err: unknown) => post({ type: 'open-failed', error: errorInfo(err) }),
      );
      break;
    case 'connect': {
      const { inputs } = msg;
      outputs = msg.outputs;
      makeViews = (slab) => ({ inputs: viewsAt(slab, inputs), outputs: viewsAt(slab, outputs) });
      queues = { from: new SharedQueue(msg.from), to: new SharedQueue(msg.to) };
      void work(queues.from, queues.to);
      break;
    }
    case 'slab':
      slabs.set(msg.id, makeViews!(msg.slab));
      awaited.get(msg.id)?.();
      awaited.delete(msg.id);
      break;
    case 'forget':
      slabs.delete(msg.id);
      break;
    case 'close':
      closing = true;
      // Wakes the loop waiting for an item, which then sees `closing` and ends.
      queues?.from.wakeAll();
      // Closing the port lets the thread end once the engine is freed.
      void (engine?.dispose() ?? Promise.resolve()).finally(() => port.close());
      break;
  }
});
