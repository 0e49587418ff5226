// What a machine without the Edge TPU pieces sees: clear errors naming what is missing and where the
// engine looked. Its own file, because the libraries load once per process.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { EdgeTpuUnavailableError, loadEdgeTpuEngine } from '../../src/devices/edgetpu-engine.js';
import { EngineError } from '../../src/devices/engine.js';
import { buildStandInEdgeTpu, standInModel } from '../helpers/standin-edgetpu.js';

const device = { id: 'usb:/sys/bus/usb/devices/1-1', type: 'usb', selector: '/sys/bus/usb/devices/1-1' } as const;
const model = standInModel({ inputs: [{ name: 'x', type: 'uint8', shape: [1] }], outputs: [{ name: 'y', type: 'uint8', shape: [1] }] });

test('an unbuilt addon is reported as the Edge TPU engine being unavailable, with the fix', async () => {
  const empty = mkdtempSync(path.join(os.tmpdir(), 'coral-pipe-no-addon-'));
  process.env.CORAL_PIPE_NATIVE_DIR = empty;
  try {
    await assert.rejects(loadEdgeTpuEngine(model, { device }), (e: unknown) => {
      assert.ok(e instanceof EdgeTpuUnavailableError && e instanceof EngineError);
      assert.equal(e.device, device.id);
      assert.match(e.message, /Edge TPU engine unavailable: the native addon coral_edgetpu is not built/);
      assert.ok(e.message.includes(path.join(empty, 'coral_edgetpu.node')));
      assert.match(e.message, /CPU engine works without it/);
      return true;
    });
  } finally {
    delete process.env.CORAL_PIPE_NATIVE_DIR;
  }
});

test('a library that is not TFLite, then a missing libedgetpu, are named with every path tried', async () => {
  const libs = buildStandInEdgeTpu();
  // Before the real TFLite is loaded: the process keeps the first TFLite library it loads.
  await assert.rejects(
    loadEdgeTpuEngine(model, { device, libraries: { edgetpu: [libs.edgetpu], tflite: [libs.edgetpu] } }),
    /libedgetpu\.so\.1 does not export TfLiteVersion/,
  );
  const missing = path.join(libs.dir, 'nowhere', 'libedgetpu.so.1');
  await assert.rejects(
    loadEdgeTpuEngine(model, { device, libraries: { edgetpu: [missing], tflite: [libs.tflite] } }),
    (e: unknown) => {
      assert.ok(e instanceof EdgeTpuUnavailableError);
      assert.match(e.message, /libedgetpu \(libedgetpu\.so\.1\) could not be loaded; looked in:/);
      assert.ok(e.message.includes(`${missing}: `), 'names the explicit path');
      assert.match(e.message, /\n {2}libedgetpu\.so\.1: /, 'names the default name searched by the loader');
      assert.match(e.message, /libedgetpu1-std/);
      assert.match(e.message, /CORAL_PIPE_LIBEDGETPU/);
      return true;
    },
  );
  // libedgetpu found later (installed since, or another path): it is loaded then.
  process.env.FAKE_EDGETPU_DEVICES = `usb:${device.selector}`;
  const engine = await loadEdgeTpuEngine(model, { device, libraries: { edgetpu: [libs.edgetpu], tflite: [libs.tflite] } });
  assert.deepEqual([...((await engine.invoke({ x: Uint8Array.from([7]) })).y as Uint8Array)], [8]);
  await engine.dispose();
});
