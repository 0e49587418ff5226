/** Edge TPU devices as the real USB probe reports them, for tests that place segments on devices. */
import type { Device } from '../../src/devices/device.js';
import { coralUsbDevices } from '../../src/devices/usb-probe.js';

/** A USB Accelerator with its firmware loaded, on bus 2 at `port`, on a USB 3 link. */
export function readyUsbTpu(port: number): Device {
  return coralUsbDevices([{ vendorId: 0x18d1, productId: 0x9302, bus: 2, ports: [port], speed: 'super' }])[0]!;
}
