/** Every executor on this machine: PCIe Edge TPUs first, then USB ones (as pycoral lists them), then CPUs. */
import { availableParallelism } from 'node:os';
import { cpuDevices, type Device } from './device.js';
import { probePci, type PciProbeOptions } from './pci-probe.js';
import { coralUsbDevices, usbDeviceList, type UsbDeviceRecord } from './usb-probe.js';

export interface EnumerateOptions extends PciProbeOptions {
  /** The USB devices to look through; by default the `usb` package's list of this machine's. */
  readonly usbDevices?: readonly UsbDeviceRecord[] | (() => Promise<readonly UsbDeviceRecord[]>);
  /** How many `cpu:N` devices to list; by default one per available core. */
  readonly cpuCount?: number;
}

export interface Enumeration {
  readonly devices: Device[];
  /** Why a whole bus could not be looked at (e.g. USB listing failed), so "nothing found" is explained. */
  readonly problems: string[];
}

export async function enumerateDevices(options: EnumerateOptions = {}): Promise<Enumeration> {
  const problems: string[] = [];
  let usbRecords: readonly UsbDeviceRecord[] = [];
  try {
    const source = options.usbDevices ?? usbDeviceList;
    usbRecords = typeof source === 'function' ? await source() : source;
  } catch (err) {
    problems.push(`USB devices could not be listed: ${err instanceof Error ? err.message : String(err)}`);
  }
  const devices = [
    ...(await probePci(options)),
    ...coralUsbDevices(usbRecords),
    ...cpuDevices(options.cpuCount ?? availableParallelism()),
  ];
  return { devices, problems };
}
