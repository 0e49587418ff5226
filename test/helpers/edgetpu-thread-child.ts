/**
 * Child process for test/devices/edgetpu-engine.test.ts: Edge TPU engine scenarios that need a process of
 * their own (a libuv pool of one thread, a process that must exit by itself, a worker torn down
 * mid-invoke). The stand-in libedgetpu and the TFLite library come from $CORAL_PIPE_LIBEDGETPU /
 * $CORAL_PIPE_LIBTFLITE_C, the devices from $FAKE_EDGETPU_DEVICES (`type:path,...`), the invoke log
 * from $FAKE_EDGETPU_INVOKE_LOG (the stand-in tags each invoke with its device's path). Prints one
 * JSON line.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { loadEdgeTpuEngine, type EdgeTpuDeviceRef } from '../../src/devices/edgetpu-engine.js';
import { standInModel } from './standin-edgetpu.js';
import { builtModule } from './cli.js';
import { pathToFileURL } from 'node:url';

const devices: EdgeTpuDeviceRef[] = (process.env.FAKE_EDGETPU_DEVICES ?? '').split(',').map((entry) => {
  const [type, selector] = entry.split(/:(.*)/s) as ['usb' | 'pci', string];
  return { id: entry, type, selector };
});

/** A uint8 model of 4 elements, input `x`, output `y`. */
const model = standInModel({ inputs: [{ name: 'x', type: 'uint8', shape: [4] }], outputs: [{ name: 'y', type: 'uint8', shape: [4] }] });

/**
 * Options of an engine on `device` whose invokes take `delayMs`, after waiting (at most 10 s) for the
 * line `awaits` in the invoke log when given.
 */
function slowly(device: EdgeTpuDeviceRef, delayMs: number, awaits?: string) {
  return { device, delegateOptions: { 'StandIn.DelayUs': String(delayMs * 1000), ...(awaits !== undefined && { 'StandIn.Await': awaits }) } };
}

/** Appends `line` to the invoke log, for an invoke that awaits it. */
const logLine = (line: string) => appendFileSync(process.env.FAKE_EDGETPU_INVOKE_LOG!, `${line}\n`);

function lines(file: string | undefined): string[] {
  try {
    return readFileSync(file!, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}
const invokeLog = () => lines(process.env.FAKE_EDGETPU_INVOKE_LOG);
const deviceLog = () => lines(process.env.FAKE_EDGETPU_LOG);

async function untilLogged(line: string): Promise<void> {
  while (!invokeLog().includes(line)) await sleep(10);
}

const scenarios: Record<string, () => Promise<unknown>> = {
  /**
   * An invoke in flight, then a file read: which settles first. The invoke lasts until the read has
   * finished (it awaits the line the read logs), so only a read held up behind it can come second.
   */
  async 'pool-free'() {
    const engine = await loadEdgeTpuEngine(model, slowly(devices[0]!, 100, 'read'));
    const order: string[] = [];
    const invoked = engine.invoke({ x: new Uint8Array(4) }).then(() => order.push('invoke'));
    await readFile(process.argv[1]!).then(() => (order.push('read'), logLine('read')));
    await invoked;
    await engine.dispose();
    return order;
  },

  /**
   * Two interpreters invoked together: the invoke log. Each invoke waits for the other's start before
   * it ends, so they overlap however late a thread starts, unless one cannot start before the other ends.
   */
  async overlap() {
    const [da, db] = [devices[0]!, devices[1]!];
    const a = await loadEdgeTpuEngine(model, slowly(da, 50, `start ${db.selector}`));
    const b = await loadEdgeTpuEngine(model, slowly(db, 50, `start ${da.selector}`));
    await Promise.all([a.invoke({ x: new Uint8Array(4) }), b.invoke({ x: new Uint8Array(4) })]);
    await Promise.all([a.dispose(), b.dispose()]);
    return invokeLog().map((line) => line.replace(da.selector, 'a').replace(db.selector, 'b'));
  },

  /** Invokes and leaves the engine open: the process must still exit by itself. */
  async idle() {
    const engine = await loadEdgeTpuEngine(model, { device: devices[0]! });
    const { y } = await engine.invoke({ x: Uint8Array.from([1, 2, 3, 4]) });
    return [...(y as Uint8Array)];
  },

  /** (--expose-gc) An engine invoked once, then dropped without dispose: the device log once collected. */
  async collected() {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (!gc) throw new Error('run with --expose-gc');
    await (async () => {
      const engine = await loadEdgeTpuEngine(model, { device: devices[0]! });
      await engine.invoke({ x: new Uint8Array(4) });
    })();
    // Finalizers run after a collection, on a later turn of the loop: give them up to 150 turns.
    for (let i = 0; i < 150 && deviceLog().length < 2; i++) {
      gc();
      await sleep(10);
    }
    return deviceLog();
  },

  /**
   * A worker terminated while its invoke is inside the (stand-in) device call; the call returns after
   * the worker's environment is gone. This process must carry on: an engine of its own still works.
   */
  async teardown() {
    const engineModule = pathToFileURL(builtModule('devices/edgetpu-engine.js')).href;
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       import(workerData.engineModule).then(async ({ loadEdgeTpuEngine }) => {
         const engine = await loadEdgeTpuEngine(workerData.model, workerData.options);
         engine.invoke({ x: new Uint8Array(4) });
         parentPort.postMessage('invoking');
       });`,
      { eval: true, workerData: { engineModule, model, options: slowly(devices[0]!, 100, 'terminated') } },
    );
    await once(worker, 'message');
    await untilLogged(`start ${devices[0]!.selector}`);
    await worker.terminate();
    // Only now may the invoke end: its completion surely comes after the worker is gone.
    logLine('terminated');
    await untilLogged(`end ${devices[0]!.selector}`);
    const engine = await loadEdgeTpuEngine(model, { device: devices[1]! });
    const results: number[][] = [];
    for (let i = 0; i < 3; i++) {
      const { y } = await engine.invoke({ x: Uint8Array.from([i, 0, 0, 0]) });
      results.push([...(y as Uint8Array)]);
    }
    await engine.dispose();
    return results;
  },

  /**
   * Workers terminated at assorted points of a busy invoke loop (inside invoke() itself, with a job in
   * the device call, with its completion queued): this process must survive them all and still work.
   */
  async churn() {
    const engineModule = pathToFileURL(builtModule('devices/edgetpu-engine.js')).href;
    for (let round = 0; round < 30; round++) {
      const worker = new Worker(
        `const { parentPort, workerData } = require('node:worker_threads');
         import(workerData.engineModule).then(async ({ loadEdgeTpuEngine }) => {
           const engines = await Promise.all([0, 1, 2].map(() => loadEdgeTpuEngine(workerData.model, workerData.options)));
           parentPort.postMessage('invoking');
           for (;;) await Promise.all(engines.map((e) => e.invoke({ x: new Uint8Array(4) })));
         });`,
        { eval: true, workerData: { engineModule, model, options: slowly(devices[0]!, round % 2) } },
      );
      await once(worker, 'message');
      await sleep(round % 7);
      await worker.terminate();
    }
    const engine = await loadEdgeTpuEngine(model, { device: devices[1]! });
    const { y } = await engine.invoke({ x: Uint8Array.from([5, 6, 7, 8]) });
    await engine.dispose();
    return [...(y as Uint8Array)];
  },
};

const scenario = scenarios[process.argv[2] ?? ''];
if (!scenario) throw new Error(`unknown scenario ${process.argv[2]}; one of ${Object.keys(scenarios).join(', ')}`);
process.stdout.write(`${JSON.stringify(await scenario())}\n`);
