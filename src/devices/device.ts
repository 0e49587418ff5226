/**
 * What the runner, daemon and CLI know about one executor: an Edge TPU on USB or PCIe, or a CPU.
 * CPU executors are devices too, so configs and the runner treat all executors alike.
 */

export type DeviceType = 'usb' | 'pci' | 'cpu';

/**
 * - `ready`: usable now.
 * - `needs-firmware`: a USB Edge TPU still in its boot loader (1a6e:089a); libedgetpu loads the firmware
 *   when it first opens it, after which it comes back as 18d1:9302 at the same port: usable.
 * - `unhealthy`: present but not usable as it is (PCIe status other than ALIVE, no /dev node, ...);
 *   `health.problems` says why.
 */
export type DeviceState = 'ready' | 'needs-firmware' | 'unhealthy';

/** USB link speeds as the `usb` package names them; `high` is USB 2 (480 Mb/s), `super` is USB 3. */
export type UsbSpeed = 'low' | 'full' | 'high' | 'super' | 'superPlus';

export interface DeviceHealth {
  /** Die temperature in degrees Celsius (PCIe only; sysfs gives milli-degrees). */
  readonly temperatureC?: number;
  /** The apex driver's status word: ALIVE, DEAD, LAMED, DRIVER_EXITING. */
  readonly status?: string;
  readonly resetCount?: number;
  /** Problems a user should act on (USB 2 link, missing /dev node, dead chip), worst first. */
  readonly problems: readonly string[];
}

export interface UsbLocation {
  readonly vendorId: number;
  readonly productId: number;
  readonly bus: number;
  /** Port numbers from the root hub down, e.g. [3, 4] for `2-3.4`. */
  readonly ports: readonly number[];
  /** `/sys/bus/usb/devices/<bus>-<port>[.<port>...]`: stays put while the device re-enumerates. */
  readonly sysfsPath: string;
  readonly speed?: UsbSpeed;
}

export interface PciLocation {
  /** `apex_0` */
  readonly name: string;
  /** `/sys/class/apex/apex_0` */
  readonly sysfsPath: string;
  /** `/dev/apex_0` */
  readonly node: string;
  readonly nodePresent: boolean;
  /** e.g. `0000:01:00.0`, where the driver exposes it. */
  readonly pciAddress?: string;
  readonly driverVersion?: string;
}

export interface Device {
  /**
   * Stable id, by path rather than enumeration index (indices shift as USB devices load firmware):
   * `usb:/sys/bus/usb/devices/2-1`, `pci:/dev/apex_0`, `cpu:0`. Also the `Engine.device` string.
   */
  readonly id: string;
  readonly type: DeviceType;
  /**
   * What libedgetpu's `edgetpu_create_delegate` takes as the device path (with `type` as the device
   * type): the USB sysfs path or the PCIe /dev node. For CPU devices, the id.
   */
  readonly selector: string;
  readonly state: DeviceState;
  readonly health: DeviceHealth;
  readonly usb?: UsbLocation;
  readonly pci?: PciLocation;
}

/**
 * Which engine a CPU device runs, by its id's prefix: `cpu:N` lets LiteRT.js run what it can and the
 * native TensorFlow Lite library the rest; `litert:N` and `tflite:N` name one engine.
 */
export type CpuEngineName = 'auto' | 'litert' | 'tflite';
const CPU_PREFIXES: Record<string, CpuEngineName> = { cpu: 'auto', litert: 'litert', tflite: 'tflite' };
const CPU_ID = /^(cpu|litert|tflite):\d+$/;

/** True for the ids of CPU executors (`cpu:0`, `litert:1`, `tflite:0`). */
export function isCpuDeviceId(id: string): boolean {
  return CPU_ID.test(id);
}

/** The engine a CPU device id names (`auto` for any other id, as `cpu:N`). */
export function cpuEngineOf(id: string): CpuEngineName {
  return CPU_PREFIXES[id.slice(0, id.indexOf(':'))] ?? 'auto';
}

/** The CPU device of an id `isCpuDeviceId` accepts. */
export function cpuDevice(id: string): Device {
  return { id, type: 'cpu', selector: id, state: 'ready', health: { problems: [] } };
}

/** `count` CPU executors, `cpu:0` ... `cpu:<count-1>`. */
export function cpuDevices(count: number): Device[] {
  return Array.from({ length: count }, (_, i) => cpuDevice(`cpu:${i}`));
}

/** What is known of a device that does not change while it serves (health changes, and goes apart). */
export interface DeviceDescription {
  readonly type: string;
  /** USB: the sysfs path that stays put while it re-enumerates, and the link speed (`high` is USB 2). */
  readonly usbPath?: string;
  readonly linkSpeed?: UsbSpeed;
  /** PCIe: the /dev node and PCI address. */
  readonly node?: string;
  readonly pciAddress?: string;
}

export function describeDevice(d: Device): DeviceDescription {
  return {
    type: d.type,
    ...(d.usb && { usbPath: d.usb.sysfsPath, ...(d.usb.speed && { linkSpeed: d.usb.speed }) }),
    ...(d.pci && { node: d.pci.node, ...(d.pci.pciAddress && { pciAddress: d.pci.pciAddress }) }),
  };
}

/** The type part of a device id (`usb:...` -> `usb`); ids of other executors (`pt:0`) give theirs. */
export function deviceTypeOf(id: string): string {
  return isCpuDeviceId(id) ? 'cpu' : id.slice(0, id.indexOf(':'));
}

/** True for devices an Edge TPU segment can run on. */
export function isEdgeTpu(device: Device): boolean {
  return device.type === 'usb' || device.type === 'pci';
}
