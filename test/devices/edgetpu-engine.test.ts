// The Edge TPU engine and native addon on the real TensorFlow Lite C library, with the stand-in
// libedgetpu built from test/fakes/standin_edgetpu.c (no Edge TPU here): a real delegate whose kernel
// computes, for output j element k, sum over inputs i of input_i[k mod length_i] + j + 1, wrapped to
// the output's type.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { loadEdgeTpuEngine, loadEdgeTpuRuntime, listEdgeTpuDevices, type EdgeTpuDeviceRef } from '../../src/devices/edgetpu-engine.js';
import { EngineError } from '../../src/devices/engine.js';
import { type TensorData } from '../../src/tensors/tensor.js';
import { testDataPath } from '../../src/testdata.js';
import { buildStandInEdgeTpu, standInModel, type StandInLibraries } from '../helpers/standin-edgetpu.js';
import { builtModule, helperScript } from '../helpers/cli.js';

const USB0: EdgeTpuDeviceRef = { id: 'usb:/sys/bus/usb/devices/2-1', type: 'usb', selector: '/sys/bus/usb/devices/2-1' };
const USB1: EdgeTpuDeviceRef = { id: 'usb:/sys/bus/usb/devices/2-2.1', type: 'usb', selector: '/sys/bus/usb/devices/2-2.1' };
const PCI0: EdgeTpuDeviceRef = { id: 'pci:/dev/apex_0', type: 'pci', selector: '/dev/apex_0' };

let libs: StandInLibraries;
let logFile: string;
let invokeLogFile: string;

function options(device: EdgeTpuDeviceRef) {
  return { device, libraries: { edgetpu: [libs.edgetpu], tflite: [libs.tflite] } };
}

function logLines(): string[] {
  try {
    return readFileSync(logFile, 'utf8').trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/** The fake's function, computed independently for the expected values. */
function expected(inputs: number[][], j: number, count: number, wrap: (v: number) => number): number[] {
  return Array.from({ length: count }, (_, k) => wrap(inputs.reduce((s, xs) => s + xs[k % xs.length]!, j + 1)));
}
const wrapU8 = (v: number) => ((Math.trunc(v) % 256) + 256) % 256;
const wrapI8 = (v: number) => ((wrapU8(v) + 128) % 256) - 128;

before(() => {
  libs = buildStandInEdgeTpu();
  logFile = path.join(libs.dir, 'edgetpu.log');
  invokeLogFile = path.join(libs.dir, 'invokes.log');
  process.env.FAKE_EDGETPU_DEVICES = [USB0, USB1, PCI0].map((d) => `${d.type}:${d.selector}`).join(',');
  process.env.FAKE_EDGETPU_LOG = logFile;
  process.env.FAKE_EDGETPU_INVOKE_LOG = invokeLogFile;
});

describe('Edge TPU engine on the real TensorFlow Lite library and the stand-in libedgetpu', () => {
  test('lists the devices libedgetpu reports', () => {
    assert.deepEqual(listEdgeTpuDevices({ edgetpu: [libs.edgetpu], tflite: [libs.tflite] }), [
      { type: 'usb', path: USB0.selector },
      { type: 'usb', path: USB1.selector },
      { type: 'pci', path: PCI0.selector },
    ]);
  });

  test('binds each interpreter to the device named by path, with its options, and frees it on dispose', async () => {
    rmSync(logFile, { force: true });
    const model = standInModel({ inputs: [{ name: 'x', type: 'uint8', shape: [1, 4] }], outputs: [{ name: 'y', type: 'uint8', shape: [1, 4] }] });
    const a = await loadEdgeTpuEngine(model, { ...options(USB1), delegateOptions: { Performance: 'max' } });
    const b = await loadEdgeTpuEngine(model, options(PCI0));
    assert.equal(a.device, USB1.id);
    assert.equal(b.device, PCI0.id);
    assert.deepEqual(logLines(), [`open usb ${USB1.selector} Performance=max`, `open pci ${PCI0.selector}`]);
    await a.dispose();
    await b.dispose();
    assert.deepEqual(logLines().slice(2), [`free usb ${USB1.selector}`, `free pci ${PCI0.selector}`]);
  });

  test('marshals uint8, int8 and float32 tensors with their specs and quantization', async () => {
    const engine = await loadEdgeTpuEngine(
      standInModel({
        inputs: [
          { name: 'image', type: 'uint8', shape: [1, 2, 3], quant: { scale: 0.5, zeroPoint: 128 } },
          { name: 'bias', type: 'int8', shape: [2] },
        ],
        outputs: [
          { name: 'u8', type: 'uint8', shape: [1, 6] },
          { name: 'i8', type: 'int8', shape: [6] },
          { name: 'f32', type: 'float32', shape: [2, 3] },
        ],
      }),
      options(USB0),
    );
    assert.deepEqual(engine.inputs, [
      { name: 'image', dtype: 'uint8', shape: [1, 2, 3], byteSize: 6, quantization: { scale: 0.5, zeroPoint: 128 } },
      { name: 'bias', dtype: 'int8', shape: [2], byteSize: 2 },
    ]);
    assert.deepEqual(engine.outputs.map((s) => [s.name, s.dtype, s.byteSize]), [['u8', 'uint8', 6], ['i8', 'int8', 6], ['f32', 'float32', 24]]);
    const image = [0, 1, 127, 200, 254, 255];
    const bias = [-128, 100];
    const out = await engine.invoke({ image: Uint8Array.from(image), bias: Int8Array.from(bias) });
    assert.ok(out.u8 instanceof Uint8Array && out.i8 instanceof Int8Array && out.f32 instanceof Float32Array);
    assert.deepEqual([...out.u8], expected([image, bias], 0, 6, wrapU8));
    assert.deepEqual([...out.i8], expected([image, bias], 1, 6, wrapI8));
    assert.deepEqual([...out.f32], expected([image, bias], 2, 6, Math.fround));
    await engine.dispose();
  });

  test('float32 in, float32 out', async () => {
    const engine = await loadEdgeTpuEngine(
      standInModel({ inputs: [{ name: 'x', type: 'float32', shape: [3] }], outputs: [{ name: 'y', type: 'float32', shape: [3] }] }),
      options(PCI0),
    );
    const x = [0.25, -1.5, 1e6];
    const { y } = await engine.invoke({ x: Float32Array.from(x) });
    assert.deepEqual([...(y as Float32Array)], expected([x], 0, 3, Math.fround));
    await engine.dispose();
  });

  test('rejects inputs that are missing, of the wrong type or size, naming the tensor', async () => {
    const engine = await loadEdgeTpuEngine(
      standInModel({ inputs: [{ name: 'x', type: 'uint8', shape: [4] }], outputs: [{ name: 'y', type: 'uint8', shape: [4] }] }),
      options(USB0),
    );
    await assert.rejects(engine.invoke({}), (e: unknown) => e instanceof EngineError && /input x is missing/.test(e.message));
    await assert.rejects(engine.invoke({ x: new Int8Array(4) }), /input x must be uint8, got Int8Array/);
    await assert.rejects(engine.invoke({ x: new Uint8Array(3) }), /input x must hold 4 bytes, got 3/);
    await engine.dispose();
  });

  test('an invoke error rejects that call only, with the TFLite message; later calls work', async () => {
    const engine = await loadEdgeTpuEngine(standInModel({ inputs: [{ name: 'x', type: 'uint8', shape: [2] }], outputs: [{ name: 'y', type: 'uint8', shape: [2] }] }), {
      ...options(USB0),
      delegateOptions: { 'StandIn.FailOnFirstByte': '255' },
    });
    const [bad, good] = await Promise.allSettled([engine.invoke({ x: Uint8Array.from([255, 0]) }), engine.invoke({ x: Uint8Array.from([1, 2]) })]);
    assert.equal(bad.status, 'rejected');
    const err = (bad as PromiseRejectedResult).reason as EngineError;
    assert.ok(err instanceof EngineError);
    assert.equal(err.device, USB0.id);
    assert.match(err.message, /TfLiteInterpreterInvoke failed.*stand-in invoke failure: first input byte is 255/);
    assert.equal(good.status, 'fulfilled');
    assert.deepEqual([...((good as PromiseFulfilledResult<Record<string, TensorData>>).value.y as Uint8Array)], [2, 3]);
    await engine.dispose();
    await assert.rejects(engine.invoke({ x: Uint8Array.from([1, 2]) }), /invoke after dispose/);
  });

  test('dispose waits for an invoke in flight, then frees the device; input views at an offset work', async () => {
    rmSync(logFile, { force: true });
    const engine = await loadEdgeTpuEngine(
      standInModel({ inputs: [{ name: 'x', type: 'float32', shape: [2] }], outputs: [{ name: 'y', type: 'float32', shape: [2] }] }),
      options(PCI0),
    );
    const backing = new Float32Array([9, 1.5, 2.5, 9]);
    const running = engine.invoke({ x: backing.subarray(1, 3) });
    const disposed = engine.dispose();
    assert.deepEqual([...((await running).y as Float32Array)], [2.5, 3.5]);
    await disposed;
    assert.deepEqual(logLines(), [`open pci ${PCI0.selector}`, `free pci ${PCI0.selector}`]);
  });

  test('open failures name the device and the cause', async () => {
    const plain = standInModel({ inputs: [{ name: 'x', type: 'uint8', shape: [1] }], outputs: [{ name: 'y', type: 'uint8', shape: [1] }] });
    const ghost: EdgeTpuDeviceRef = { id: 'usb:/sys/bus/usb/devices/9-9', type: 'usb', selector: '/sys/bus/usb/devices/9-9' };
    await assert.rejects(loadEdgeTpuEngine(plain, options(ghost)), (e: unknown) =>
      e instanceof EngineError && e.device === ghost.id && /does not see usb device \/sys\/bus\/usb\/devices\/9-9 \(it sees: usb:/.test(e.message));
    // TFLite's own reason, which it prints only to stderr, reaches the error.
    await assert.rejects(loadEdgeTpuEngine(new TextEncoder().encode('TFL3 not really'), options(USB0)), /TensorFlow Lite refused the model: ERROR: The model is not a valid Flatbuffer buffer/);
    // A CPU op TFLite has no kernel for, beside the Edge TPU's.
    await assert.rejects(
      loadEdgeTpuEngine(new Uint8Array(readFileSync(testDataPath('models/model_invoking_error.tflite'))), options(USB0)),
      /cannot open the segment on usb:.*unresolved custom op: fake-op-double/s,
    );
    await assert.rejects(loadEdgeTpuEngine(plain, options({ ...USB0, selector: '' })), /explicit device path/);
  });

  test('many segments on several devices run concurrently off the JavaScript thread', async () => {
    const devices = [USB0, USB1, PCI0];
    const engines = await Promise.all(
      Array.from({ length: 6 }, (_, s) =>
        loadEdgeTpuEngine(
          standInModel({
            inputs: [{ name: `t${s}`, type: 'uint8', shape: [64] }],
            outputs: [{ name: `t${s + 1}`, type: 'uint8', shape: [64] }],
          }),
          options(devices[s % devices.length]!),
        ),
      ),
    );
    const runs = engines.flatMap((engine, s) =>
      Array.from({ length: 10 }, async (_, n) => {
        const x = Array.from({ length: 64 }, (_, k) => (k * 7 + n + s) % 256);
        const out = await engine.invoke({ [`t${s}`]: Uint8Array.from(x) });
        assert.deepEqual([...(out[`t${s + 1}`] as Uint8Array)], expected([x], 0, 64, wrapU8));
      }),
    );
    rmSync(invokeLogFile, { force: true });
    await Promise.all(runs);
    const invokes = readFileSync(invokeLogFile, 'utf8').split('\n');
    assert.equal(invokes.filter((l) => l.startsWith('end ')).length, 60);
    assert.deepEqual(invokes.filter((l) => l.startsWith('same-thread ')), [], 'an invoke ran on the JavaScript thread');
    await Promise.all(engines.map((e) => e.dispose()));
  });

  test('an engine opens and runs inside a worker thread too', async () => {
    const engineModule = pathToFileURL(builtModule('devices/edgetpu-engine.js')).href;
    const model = standInModel({ inputs: [{ name: 'x', type: 'uint8', shape: [3] }], outputs: [{ name: 'y', type: 'uint8', shape: [3] }] });
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       import(workerData.engineModule).then(async ({ loadEdgeTpuEngine }) => {
         const engine = await loadEdgeTpuEngine(workerData.model, workerData.options);
         const out = await engine.invoke({ x: Uint8Array.from([10, 20, 250]) });
         await engine.dispose();
         parentPort.postMessage([...out.y]);
       });`,
      { eval: true, workerData: { engineModule, model, options: options(USB1) } },
    );
    const result = await new Promise<number[]>((resolve, reject) => worker.once('message', resolve).once('error', reject));
    assert.deepEqual(result, expected([[10, 20, 250]], 0, 3, wrapU8));
    await worker.terminate();
  });
});

describe('Edge TPU invokes run on a thread of their own per interpreter', () => {
  const child = helperScript('edgetpu-thread-child.js');

  /** Runs one scenario of the child; its result is the JSON line it prints. */
  async function runChild(scenario: string, env: Record<string, string> = {}, nodeFlags: string[] = []): Promise<unknown> {
    const invokeLog = path.join(libs.dir, `invokes-${scenario}.log`);
    rmSync(invokeLog, { force: true });
    const { stdout } = await promisify(execFile)(process.execPath, [...nodeFlags, child, scenario], {
      encoding: 'utf8',
      timeout: 60_000, // a guard, so a child that never exits fails the test instead of hanging the suite
      env: {
        ...process.env,
        CORAL_PIPE_LIBEDGETPU: libs.edgetpu,
        CORAL_PIPE_LIBTFLITE_C: libs.tflite,
        FAKE_EDGETPU_LOG: path.join(libs.dir, `devices-${scenario}.log`),
        FAKE_EDGETPU_INVOKE_LOG: invokeLog,
        ...env,
      },
    });
    return JSON.parse(stdout);
  }

  test('an invoke in flight leaves the libuv pool free: with a pool of one thread, a file read finishes first', async () => {
    assert.deepEqual(await runChild('pool-free', { UV_THREADPOOL_SIZE: '1' }), ['read', 'invoke']);
  });

  test('invokes on two interpreters run at the same time, even with a pool of one thread', async () => {
    const log = (await runChild('overlap', { UV_THREADPOOL_SIZE: '1' })) as string[];
    // Both started before either ended: the two intervals overlap.
    assert.deepEqual(log.slice(0, 2).sort(), ['start a', 'start b']);
    assert.deepEqual(log.slice(2).sort(), ['end a', 'end b']);
  });

  test('an idle interpreter left open does not keep the process alive', async () => {
    assert.deepEqual(await runChild('idle'), expected([[1, 2, 3, 4]], 0, 4, wrapU8));
  });

  test('an interpreter collected without close() frees its device', async () => {
    assert.deepEqual(await runChild('collected', {}, ['--expose-gc']), [`open ${USB0.type} ${USB0.selector}`, `free ${USB0.type} ${USB0.selector}`]);
  });

  test('a worker terminated during an invoke: the late completion is dropped and the process carries on', async () => {
    assert.deepEqual(await runChild('teardown'), [0, 1, 2].map((i) => expected([[i, 0, 0, 0]], 0, 4, wrapU8)));
  });

  test('workers terminated at assorted points of their invokes never bring the process down', async () => {
    assert.deepEqual(await runChild('churn'), expected([[5, 6, 7, 8]], 0, 4, wrapU8));
  });

  test('close() during an invoke frees the device when it ends; overlapping or later invokes are refused', async () => {
    rmSync(logFile, { force: true });
    const { addon } = loadEdgeTpuRuntime({ edgetpu: [libs.edgetpu], tflite: [libs.tflite] });
    const native = new addon.Interpreter(
      standInModel({ inputs: [{ name: 'x', type: 'uint8', shape: [2] }], outputs: [{ name: 'y', type: 'uint8', shape: [2] }] }),
      'pci', PCI0.selector, { 'StandIn.FailOnFirstByte': '255' }, 1,
    );
    const code = (want: string) => (e: unknown) => (e as { code?: unknown }).code === want;
    await assert.rejects(native.invoke([Uint8Array.from([255, 0])], [new Uint8Array(2)]), (e: unknown) =>
      code('INVOKE_FAILED')(e) && /stand-in invoke failure: first input byte is 255/.test((e as Error).message));
    const out = new Uint8Array(2);
    const running = native.invoke([Uint8Array.from([1, 2])], [out]);
    assert.throws(() => native.invoke([new Uint8Array(2)], [new Uint8Array(2)]), code('BUSY'));
    native.close();
    assert.deepEqual(logLines(), [`open pci ${PCI0.selector}`], 'the device stays open while the invoke uses it');
    await running;
    assert.deepEqual([...out], [2, 3]);
    assert.deepEqual(logLines(), [`open pci ${PCI0.selector}`, `free pci ${PCI0.selector}`]);
    assert.throws(() => native.invoke([new Uint8Array(2)], [new Uint8Array(2)]), code('CLOSED'));
    native.close(); // a second close is harmless
  });
});
