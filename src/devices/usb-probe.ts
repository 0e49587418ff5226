/**
 * Finds Edge TPUs on USB. The listing comes from the `usb` package by default, or from a list the
 * caller passes in (tests pass a fake one). Only the injected lists have exercised this here: no
 * machine of the project has a USB Coral, and `usbDeviceList()`'s reading of the `usb` package's
 * fields (bus, ports, speed) follows its type declarations, untried against a real device.
 */
import type { Device, UsbSpeed } from './device.js';

/** The USB ids of a Coral accelerator: boot loader before its firmware is loaded, then the runtime. */
export const CORAL_USB_IDS = {
  needsFirmware: { vendorId: 0x1a6e, productId: 0x089a },
  ready: { vendorId: 0x18d1, productId: 0x9302 },
} as const;

/** One USB device as the probe needs it; what `usbDeviceList()` yields and what tests inject. */
export interface UsbDeviceRecord {
  readonly vendorId: number;
  readonly productId: number;
  readonly bus: number;
  /** Port numbers from the root hub down. */
  readonly ports: readonly number[];
  readonly speed?: UsbSpeed;
}

export const USB_SYSFS_ROOT = '/sys/bus/usb/devices';

/** `/sys/bus/usb/devices/2-3.4` for bus 2, ports [3, 4]. */
export function usbSysfsPath(bus: number, ports: readonly number[]): string {
  return `${USB_SYSFS_ROOT}/${bus}-${ports.join('.')}`;
}

const SLOW_SPEEDS: ReadonlySet<UsbSpeed> = new Set(['low', 'full', 'high']);

function coralState(record: UsbDeviceRecord): Device['state'] | undefined {
  for (const [state, ids] of [['needs-firmware', CORAL_USB_IDS.needsFirmware], ['ready', CORAL_USB_IDS.ready]] as const) {
    if (record.vendorId === ids.vendorId && record.productId === ids.productId) return state;
  }
  return undefined;
}

/** The Coral accelerators among `records`, as devices identified by their port path. */
export function coralUsbDevices(records: readonly UsbDeviceRecord[]): Device[] {
  const devices: Device[] = [];
  for (const record of records) {
    const state = coralState(record);
    if (state === undefined) continue;
    if (record.ports.length === 0) continue; // a root hub: never a Coral, and it has no port path
    const sysfsPath = usbSysfsPath(record.bus, record.ports);
    const problems: string[] = [];
    // The boot loader's link speed says nothing about the runtime's, so judge only a ready device.
    if (state === 'ready' && record.speed !== undefined && SLOW_SPEEDS.has(record.speed)) {
      problems.push(
        `USB link is ${record.speed === 'high' ? 'USB 2 (480 Mb/s)' : `${record.speed} speed`}: ` +
          'inference is several times slower than on USB 3; use a USB 3 port and cable',
      );
    }
    devices.push({
      id: `usb:${sysfsPath}`,
      type: 'usb',
      selector: sysfsPath,
      state,
      health: { problems },
      usb: {
        vendorId: record.vendorId,
        productId: record.productId,
        bus: record.bus,
        ports: [...record.ports],
        sysfsPath,
        ...(record.speed !== undefined ? { speed: record.speed } : {}),
      },
    });
  }
  return devices.sort((a, b) => a.id.localeCompare(b.id));
}

/** The bus number from the `usb` package's `bus` field, which may be "2" or a port name like "2-3.4". */
function busNumber(bus: string | number): number | undefined {
  const match = /^(\d+)/.exec(String(bus));
  return match ? Number(match[1]) : undefined;
}

interface UsbPackageDevice {
  vendorId: number;
  productId: number;
  bus: string | number;
  ports: number[];
  speed?: UsbSpeed;
}

/** Converts one device object of the `usb` package; undefined when it carries no usable bus number. */
export function fromUsbPackage(device: UsbPackageDevice): UsbDeviceRecord | undefined {
  const bus = busNumber(device.bus);
  if (bus === undefined) return undefined;
  return {
    vendorId: device.vendorId,
    productId: device.productId,
    bus,
    ports: [...device.ports],
    ...(device.speed !== undefined ? { speed: device.speed } : {}),
  };
}

/** Every USB device on this machine, through the `usb` package (loaded on demand). */
export async function usbDeviceList(): Promise<UsbDeviceRecord[]> {
  const { usb } = await import('usb');
  const devices = (await usb.getDevices()) as unknown as UsbPackageDevice[];
  return devices.flatMap((d) => fromUsbPackage(d) ?? []);
}
