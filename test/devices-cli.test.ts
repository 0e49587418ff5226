// `coral-pipe devices` over injected scans (fake sysfs and USB lists).
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { createDevicesCommand, NOTHING_FOUND_HELP, type DevicesCommandDeps } from '../src/cli/commands/devices.js';
import { enumerateDevices } from '../src/devices/enumerate.js';
import { acquireLease } from '../src/devices/lease.js';
import { fakeSysfs } from './helpers/fake-sysfs.js';

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
