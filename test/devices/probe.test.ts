// Enumeration against injected USB lists and a fake sysfs tree (no Coral on this machine).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cpuDevices, describeDevice } from '../../src/devices/device.js';
import { enumerateDevices } from '../../src/devices/enumerate.js';
import { probePci } from '../../src/devices/pci-probe.js';
import { coralUsbDevices, fromUsbPackage, type UsbDeviceRecord } from '../../src/devices/usb-probe.js';
import { fakeSysfs } from '../helpers/fake-sysfs.js';

const bootloader: UsbDeviceRecord = { vendorId: 0x1a6e, productId: 0x089a, bus: 2, ports: [3, 4], speed: 'high' };
const ready3: UsbDeviceRecord = { vendorId: 0x18d1, productId: 0x9302, bus: 2, ports: [1], speed: 'super' };
const ready2: UsbDeviceRecord = { vendorId: 0x18d1, productId: 0x9302, bus: 1, ports: [5], speed: 'high' };
const keyboard: UsbDeviceRecord = { vendorId: 0x046d, productId: 0xc31c, bus: 1, ports: [2], speed: 'low' };

describe('USB probe', () => {
  test('finds both Coral ids by port path, with state, and ignores other devices', () => {
    const devices = coralUsbDevices([keyboard, ready3, bootloader]);
    assert.deepEqual(devices.map((d) => [d.id, d.type, d.selector, d.state]), [
      ['usb:/sys/bus/usb/devices/2-1', 'usb', '/sys/bus/usb/devices/2-1', 'ready'],
      ['usb:/sys/bus/usb/devices/2-3.4', 'usb', '/sys/bus/usb/devices/2-3.4', 'needs-firmware'],
    ]);
    assert.deepEqual(devices[1]!.usb, {
      vendorId: 0x1a6e, productId: 0x089a, bus: 2, ports: [3, 4], sysfsPath: '/sys/bus/usb/devices/2-3.4', speed: 'high',
    });
  });

  test('the id survives the firmware load (new USB id, same port)', () => {
    const [before] = coralUsbDevices([bootloader]);
    const [after] = coralUsbDevices([{ ...bootloader, vendorId: 0x18d1, productId: 0x9302, speed: 'super' }]);
    assert.equal(before!.id, after!.id);
    assert.equal(before!.state, 'needs-firmware');
    assert.equal(after!.state, 'ready');
  });

  test('warns about a USB 2 link on a ready device only', () => {
    const [slow] = coralUsbDevices([ready2]);
    assert.equal(slow!.health.problems.length, 1);
    assert.match(slow!.health.problems[0]!, /USB 2 \(480 Mb\/s\).*USB 3 port/);
    assert.deepEqual(coralUsbDevices([ready3])[0]!.health.problems, []);
    assert.deepEqual(coralUsbDevices([bootloader])[0]!.health.problems, []);
    // The daemon's status names the link speed and the port path.
    assert.deepEqual(describeDevice(slow!), { type: 'usb', usbPath: slow!.usb!.sysfsPath, linkSpeed: 'high' });
  });

  test("reads the usb package's device fields", () => {
    assert.deepEqual(fromUsbPackage({ vendorId: 1, productId: 2, bus: '3', ports: [1, 2], speed: 'super' }), { vendorId: 1, productId: 2, bus: 3, ports: [1, 2], speed: 'super' });
    assert.equal(fromUsbPackage({ vendorId: 1, productId: 2, bus: '2-1.4', ports: [1, 4] })?.bus, 2);
    assert.equal(fromUsbPackage({ vendorId: 1, productId: 2, bus: 'usb', ports: [] }), undefined);
  });
});

describe('PCIe probe', () => {
  test('reads temperature, status, resets and address; reports a dead chip and a missing /dev node', async () => {
    const fs = fakeSysfs();
    fs.setApex([
      { index: 10, attributes: { temp: '51000', status: 'ALIVE' } },
      { index: 0, attributes: { temp: '45250', status: 'ALIVE', reset_count: '2', pci_address: '0000:01:00.0', driver_version: '1.2' } },
      { index: 1, attributes: { status: 'DEAD' } },
      { index: 2, node: false },
    ]);
    const devices = await probePci(fs);
    assert.deepEqual(devices.map((d) => d.id), ['pci:/dev/apex_0', 'pci:/dev/apex_1', 'pci:/dev/apex_2', 'pci:/dev/apex_10']
      .map((id) => id.replace('/dev', fs.devRoot)));
    const [a0, a1, a2] = devices;
    assert.equal(a0!.selector, `${fs.devRoot}/apex_0`);
    assert.equal(a0!.state, 'ready');
    assert.deepEqual(a0!.health, { temperatureC: 45.25, status: 'ALIVE', resetCount: 2, problems: [] });
    assert.equal(a0!.pci?.pciAddress, '0000:01:00.0');
    assert.equal(a0!.pci?.driverVersion, '1.2');
    assert.equal(a1!.state, 'unhealthy');
    assert.deepEqual(a1!.health.problems, ['driver status is DEAD, not ALIVE']);
    assert.equal(a2!.state, 'unhealthy');
    assert.equal(a2!.pci?.nodePresent, false);
    assert.match(a2!.health.problems[0]!, /apex_2 is missing/);
    // What the daemon's status says of it: where it is, not its changing health.
    assert.deepEqual(describeDevice(a0!), { type: 'pci', node: `${fs.devRoot}/apex_0`, pciAddress: '0000:01:00.0' });
  });

  test('no apex class means no PCIe devices', async () => {
    assert.deepEqual(await probePci({ sysfsRoot: '/nonexistent', devRoot: '/nonexistent' }), []);
  });
});

describe('enumerateDevices', () => {
  test('lists PCIe, then USB, then CPU devices', async () => {
    const fs = fakeSysfs();
    fs.setApex([{ index: 0, attributes: { status: 'ALIVE' } }]);
    const { devices, problems } = await enumerateDevices({ ...fs, usbDevices: [ready3, keyboard], cpuCount: 2 });
    assert.deepEqual(devices.map((d) => d.type), ['pci', 'usb', 'cpu', 'cpu']);
    assert.deepEqual(devices.slice(2), cpuDevices(2));
    assert.deepEqual(devices.slice(2).map((d) => d.id), ['cpu:0', 'cpu:1']);
    assert.deepEqual(problems, []);
  });

  test('a USB listing failure is reported, not fatal', async () => {
    const { devices, problems } = await enumerateDevices({
      sysfsRoot: '/nonexistent',
      usbDevices: async () => { throw new Error('LIBUSB_ERROR_ACCESS'); },
      cpuCount: 1,
    });
    assert.deepEqual(devices.map((d) => d.id), ['cpu:0']);
    assert.deepEqual(problems, ['USB devices could not be listed: LIBUSB_ERROR_ACCESS']);
  });
});
