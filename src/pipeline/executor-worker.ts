/**
 * Worker thread entry: opens one engine and runs items on it one at a time, reading inputs from and
 * writing outputs into the item's shared slab, so nothing but the slab handle crosses threads.
 */
import { parentPort } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import type { Engine } from '../devices/engine.js';
import type { NamedTensors } from '../tensors/tensor.js';
import { EngineError } from '../devices/engine.js';
import { bytesOf, viewAs } from '../tensors/dtype.js';
import { openEngine } from '../devices/open-engine.js';
import type { Placement } from './slab-layout.js';
import { InvokeClock } from './invoke-clock.js';
import type { FromWorker, ToWorker } from './worker-protocol.js';
import { errorInfo } from './worker-protocol.js';

/** Engines that can write outputs into given arrays (the pass-through engine) skip a copy. */
type WritesInto = Engine & { invokeInto(inputs: NamedTensors, outputs: NamedTensors): Promise<void> };
const writesInto = (e: Engine): e is WritesInto => typeof (e as Partial<WritesInto>).invokeInto === 'function';

const port = parentPort!;
const post = (msg: FromWorker) => port.postMessage(msg);

let engine: Engine | undefined;
let clock: InvokeClock | undefined;
let inputs: readonly Placement[] = [];
let outputs: readonly Placement[] = [];
const pending: { seq: number; slab: number }[] = [];
let running = false;

/** This segment's input and output views of each known slab, made once per slab. */
interface SlabViews {
  readonly inputs: NamedTensors;
  readonly outputs: NamedTensors;
}
const slabs = new Map<number, SlabViews>();

function views(slab: SharedArrayBuffer, placements: readonly Placement[]): NamedTensors {
  const out: NamedTensors = {};
  for (const p of placements) out[p.name] = viewAs(p.dtype, new Uint8Array(slab, p.byteOffset, p.byteSize));
  return out;
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

async function drain(): Promise<void> {
  running = true;
  while (pending.length > 0) {
    const { seq, slab } = pending.shift()!;
    const start = performance.now();
    clock!.started();
    try {
      await runOne(engine!, slabs.get(slab)!);
      clock!.ended();
      post({ type: 'done', seq, busyMs: performance.now() - start });
    } catch (err) {
      clock!.ended();
      post({ type: 'failed', seq, error: errorInfo(err) });
    }
  }
  running = false;
}

port.on('message', (msg: ToWorker) => {
  switch (msg.type) {
    case 'open':
      clock = new InvokeClock(msg.clock);
      openEngine(msg.spec).then(
        (opened) => {
          engine = opened;
          post({ type: 'opened', device: opened.device, inputs: [...opened.inputs], outputs: [...opened.outputs] });
        },
        (err: unknown) => post({ type: 'open-failed', error: errorInfo(err) }),
      );
      break;
    case 'layout':
      inputs = msg.inputs;
      outputs = msg.outputs;
      break;
    case 'slab':
      slabs.set(msg.id, { inputs: views(msg.slab, inputs), outputs: views(msg.slab, outputs) });
      break;
    case 'forget':
      slabs.delete(msg.id);
      break;
    case 'run':
      for (let i = 0; i < msg.items.length; i += 2) pending.push({ seq: msg.items[i]!, slab: msg.items[i + 1]! });
      if (!running) void drain();
      break;
    case 'close':
      // Closing the port lets the thread end once the engine is freed.
      void (engine?.dispose() ?? Promise.resolve()).finally(() => port.close());
      break;
  }
});
