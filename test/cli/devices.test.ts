// `coral-pipe devices` over injected scans (fake sysfs and USB lists), and the libraries it reports:
// the real TensorFlow Lite C library, libedgetpu missing, then the stand-in libedgetpu.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { createDevicesCommand, NOTHING_FOUND_HELP, type DevicesCommandDeps } from '../../src/cli/commands/devices.js';
import { enumerateDevices } from '../../src/devices/enumerate.js';
import { acquireLease } from '../../src/devices/lease.js';
import { bundledTflitePath } from '../../src/devices/tflite-runtime.js';
import { fakeSysfs } from '../helpers/fake-sysfs.js';
import { buildStandInEdgeTpu } from '../helpers/standin-edgetpu.js';

function run(argv: string[], enumerate: DevicesCommandDeps['enumerate']) {
  let out = '';
  const command = createDevicesCommand({ enumerate, write: (t) => (out += t) });
  return command.run(argv).then((code) => ({ code, out }));
}

test('lists devices with health, problems and lease holders', async () => {
  const sysfs = fakeSysfs();
  sysfs.setApex([{ index: 0, attributes: { temp: '45250', status: 'ALIVE', reset_count: '0' } }]);
  const usb = [{ vendorId: 0x18d1, productId: 0x9302, bus: 2, ports: [1], speed: 'high' as const }];
  const runtimeDir = mkdtempSync(path.join(os.tmpdir(), 'coral-pipe-run-'));
  const lease = acquireLease('usb:/sys/bus/usb/devices/2-1', { runtimeDir });
  try {
    const scan = () => enumerateDevices({ ...sysfs, usbDevices: usb, cpuCount: 1 });
    const text = await run(['--runtime-dir', runtimeDir], scan);
    assert.equal(text.code, 0);
    const lines = text.out.split('\n');
    assert.match(lines[0]!, /^ID +TYPE +STATE +HEALTH$/);
    assert.match(lines[1]!, new RegExp(`^pci:${sysfs.devRoot}/apex_0 +pci +ready +45\\.3 °C, ALIVE, 0 resets$`));
    assert.match(lines[2]!, new RegExp(`^usb:/sys/bus/usb/devices/2-1 +usb +ready +high speed \\[leased by pid ${process.pid}\\]$`));
    assert.match(lines[3]!, /! USB link is USB 2/);
    assert.match(lines[4]!, /^cpu:0 +cpu +ready/);
    assert.ok(!text.out.includes('No Edge TPU found'));

    const json = JSON.parse((await run(['--json', '--runtime-dir', runtimeDir], scan)).out);
    assert.deepEqual(json.devices.map((d: { id: string }) => d.id), [`pci:${sysfs.devRoot}/apex_0`, 'usb:/sys/bus/usb/devices/2-1', 'cpu:0']);
    assert.equal(json.devices[1].leasedBy.pid, process.pid);
    assert.equal(json.devices[0].health.temperatureC, 45.25);
    assert.equal(json.help, undefined);
  } finally {
    lease.release();
  }
});

test('when no Edge TPU is found it says what to do, and why a bus could not be read', async () => {
  const scan = () => enumerateDevices({ sysfsRoot: '/nonexistent', usbDevices: async () => { throw new Error('/sys/bus/usb/devices/ not found'); }, cpuCount: 1 });
  const { out } = await run([], scan);
  assert.ok(out.includes('warning: USB devices could not be listed: /sys/bus/usb/devices/ not found'));
  assert.ok(out.endsWith(NOTHING_FOUND_HELP));
  assert.match(NOTHING_FOUND_HELP, /plugdev/);
  assert.match(NOTHING_FOUND_HELP, /gasket/);
  const json = JSON.parse((await run(['--json'], scan)).out);
  assert.equal(json.help, NOTHING_FOUND_HELP);
});

test('an unknown option is refused before anything is probed', async () => {
  let probed = false;
  const scan = async () => {
    probed = true;
    return { devices: [], problems: [] };
  };
  await assert.rejects(run(['--bogus'], scan), { code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' });
  assert.equal(probed, false);
});

test('names the TensorFlow Lite library it found, and a missing libedgetpu with where to get it', async () => {
  const saved = process.env.CORAL_PIPE_LIBEDGETPU;
  process.env.CORAL_PIPE_LIBEDGETPU = path.join(os.tmpdir(), 'nowhere', 'libedgetpu.so.1');
  try {
    const scan = () => enumerateDevices({ ...fakeSysfs(), usbDevices: [], cpuCount: 1 });
    const { out } = await run([], scan);
    assert.ok(out.includes(`TensorFlow Lite C library: 2.9.0 at ${bundledTflitePath()}\n`), out);
    assert.match(out, /libedgetpu: missing: libedgetpu \(libedgetpu\.so\.1\) could not be loaded; looked in:\n {2}\/.*nowhere\/libedgetpu\.so\.1: /);
    assert.match(out, /to get it: install Coral's libedgetpu1-std package/);
    const json = JSON.parse((await run(['--json'], scan)).out);
    assert.deepEqual(json.runtimes.tflite, { path: bundledTflitePath(), version: '2.9.0' });
    assert.match(json.runtimes.edgetpu.missing, /could not be loaded/);
  } finally {
    if (saved === undefined) delete process.env.CORAL_PIPE_LIBEDGETPU;
    else process.env.CORAL_PIPE_LIBEDGETPU = saved;
  }
});

test("sets libedgetpu's own list of Edge TPUs against the probes' and names each one only one of them sees", async () => {
  const libs = buildStandInEdgeTpu();
  const sysfs = fakeSysfs();
  sysfs.setApex([{ index: 0, attributes: { status: 'ALIVE' } }]);
  const usb = [{ vendorId: 0x18d1, productId: 0x9302, bus: 2, ports: [1], speed: 'super' as const }];
  Object.assign(process.env, { CORAL_PIPE_LIBEDGETPU: libs.edgetpu, FAKE_EDGETPU_DEVICES: 'usb:/sys/bus/usb/devices/2-1,usb:/sys/bus/usb/devices/9-9' });
  try {
    const { out } = await run([], () => enumerateDevices({ ...sysfs, usbDevices: usb, cpuCount: 1 }));
    assert.ok(out.includes(`libedgetpu: stand-in libedgetpu for coral-pipe tests (real TfLiteDelegate, no hardware) at ${libs.edgetpu}\n`), out);
    assert.match(out, /warning: libedgetpu sees the Edge TPU usb:\/sys\/bus\/usb\/devices\/9-9, which the USB\/PCIe probes did not find/);
    assert.ok(out.includes(`warning: the probes found the Edge TPU pci:${sysfs.devRoot}/apex_0, which libedgetpu does not see`), out);
    assert.ok(!out.includes('2-1, which'), 'the Edge TPU both see is reported as seen by one');
  } finally {
    delete process.env.CORAL_PIPE_LIBEDGETPU;
    delete process.env.FAKE_EDGETPU_DEVICES;
  }
});
