// Hot-plug following, with scripted scans and a fake USB event source; timers are mocked.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Device } from '../../src/devices/device.js';
import { DeviceWatcher, type UsbEventSource } from '../../src/devices/hotplug.js';
import { coralUsbDevices, type UsbDeviceRecord } from '../../src/devices/usb-probe.js';
import { probePci } from '../../src/devices/pci-probe.js';
import { fakeSysfs } from '../helpers/fake-sysfs.js';

const boot = (ports: number[]): UsbDeviceRecord => ({ vendorId: 0x1a6e, productId: 0x089a, bus: 1, ports, speed: 'high' });
const ready = (ports: number[]): UsbDeviceRecord => ({ vendorId: 0x18d1, productId: 0x9302, bus: 1, ports, speed: 'super' });

function fakeUsbEvents() {
  let listener: (() => void) | undefined;
  const source: UsbEventSource = {
    subscribe(onChange) {
      listener = onChange;
      return () => (listener = undefined);
    },
  };
  return { source, fire: () => listener?.(), subscribed: () => listener !== undefined };
}

/** A watcher over a mutable USB list and fake sysfs, recording its events. */
function setup() {
  const sysfs = fakeSysfs();
  let usb: UsbDeviceRecord[] = [];
  const events: string[] = [];
  const usbEvents = fakeUsbEvents();
  const watcher = new DeviceWatcher({
    usbEvents: usbEvents.source,
    pollIntervalMs: 0,
    firmwareWindowMs: 3000,
    enumerate: async () => ({ devices: [...(await probePci(sysfs)), ...coralUsbDevices(usb)], problems: [] }),
  });
  watcher.on('added', (d: Device) => events.push(`added ${d.id} ${d.state}`));
  watcher.on('removed', (d: Device) => events.push(`removed ${d.id}`));
  watcher.on('changed', (d: Device, p: Device) => events.push(`changed ${d.id} ${p.state}->${d.state}`));
  return { sysfs, events, usbEvents, watcher, setUsb: (list: UsbDeviceRecord[]) => (usb = list) };
}

test('a firmware load (detach as 1a6e:089a, attach as 18d1:9302 at the same port) is one change', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { events, usbEvents, watcher, setUsb } = setup();
  setUsb([boot([2])]);
  await watcher.start();
  assert.deepEqual(watcher.devices().map((d) => d.state), ['needs-firmware']);
  assert.deepEqual(events, [], 'the first inventory is not news');
  setUsb([]);
  usbEvents.fire();
  await watcher.rescan();
  t.mock.timers.tick(2999);
  assert.deepEqual(events, []);
  assert.equal(watcher.devices().length, 1, 'still counted during the window');
  setUsb([ready([2])]);
  usbEvents.fire();
  await watcher.rescan();
  t.mock.timers.tick(10_000);
  assert.deepEqual(events, ['changed usb:/sys/bus/usb/devices/1-2 needs-firmware->ready']);
  watcher.stop();
  assert.equal(usbEvents.subscribed(), false);
});

test('a USB device that stays away past the window is removed; a new one is added', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { events, watcher, setUsb } = setup();
  setUsb([ready([1])]);
  await watcher.start();
  setUsb([ready([3, 1])]);
  await watcher.rescan();
  t.mock.timers.tick(3000);
  assert.deepEqual(events, ['added usb:/sys/bus/usb/devices/1-3.1 ready', 'removed usb:/sys/bus/usb/devices/1-1']);
  assert.deepEqual(watcher.devices().map((d) => d.id), ['usb:/sys/bus/usb/devices/1-3.1']);
  watcher.stop();
});

test('/sys/class/apex changes: added, changed on status, removed at once', async () => {
  const { sysfs, events, watcher } = setup();
  sysfs.setApex([]);
  await watcher.start();
  sysfs.setApex([{ index: 0, attributes: { status: 'ALIVE', temp: '40000' } }]);
  await watcher.rescan();
  sysfs.setApex([{ index: 0, attributes: { status: 'ALIVE', temp: '47000' } }]);
  await watcher.rescan(); // a temperature change alone is not an event
  sysfs.setApex([{ index: 0, attributes: { status: 'DEAD', temp: '47000' } }]);
  await watcher.rescan();
  sysfs.setApex([]);
  await watcher.rescan();
  const id = `pci:${sysfs.devRoot}/apex_0`;
  assert.deepEqual(events, [`added ${id} ready`, `changed ${id} ready->unhealthy`, `removed ${id}`]);
  watcher.stop();
});

test('a failing scan is reported as a problem event and the watcher carries on', async () => {
  let fail = false;
  const watcher = new DeviceWatcher({ pollIntervalMs: 0, enumerate: async () => {
    if (fail) throw new Error('scan broke');
    return { devices: [], problems: [] };
  } });
  const errors: string[] = [];
  watcher.on('problem', (e: Error) => errors.push(e.message));
  await watcher.start();
  fail = true;
  await watcher.rescan();
  fail = false;
  await watcher.rescan();
  assert.deepEqual(errors, ['scan broke']);
  watcher.stop();
});
