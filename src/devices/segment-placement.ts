/**
 * Which devices run each segment: a `devices` setting (per segment a device id or a list of
 * replicas) matched against the devices present, or `auto` placement. Ids are the stable ones
 * (`usb:/sys/bus/usb/devices/2-1`, `pci:/dev/apex_0`, `cpu:0`, `litert:0`, `tflite:0`); `usb:N` / `pci:N` also work and mean
 * the N-th present Edge TPU of that bus in enumeration order (which shifts as USB devices load firmware).
 */
import { cpuDevice, isCpuDeviceId, type Device } from './device.js';
import { assignDevices } from './engine-choice.js';

/** `auto`, or per segment a device id or a list of them (replicas): the daemon config's `devices`, `run --devices`. */
export type DevicesSetting = 'auto' | readonly (string | readonly string[])[];

export class DevicePlacementError extends Error {
  override name = 'DevicePlacementError';
}

/** True when placing these segments needs the list of present devices (anything but plain CPU ids). */
export function needsEnumeration(devices: DevicesSetting): boolean {
  return devices === 'auto' || devices.flat().some((id) => !isCpuDeviceId(id));
}

/** The present device `id` names (`usb:N` and `pci:N` by enumeration order); DevicePlacementError naming `segment` when absent. */
export function findDevice(id: string, present: readonly Device[], segment: string): Device {
  const exact = present.find((d) => d.id === id);
  if (exact) return exact;
  if (isCpuDeviceId(id)) return cpuDevice(id);
  const indexed = /^(usb|pci):(\d+)$/.exec(id);
  if (indexed) {
    const [, type, n] = indexed;
    const found = present.filter((d) => d.type === type)[Number(n)];
    if (found) return found;
  }
  const ids = present.filter((d) => d.type !== 'cpu').map((d) => d.id);
  throw new DevicePlacementError(`${segment}: device "${id}" is not present (Edge TPUs present: ${ids.length > 0 ? ids.join(', ') : 'none'})`);
}

/**
 * Devices per segment (more than one = replicas). Segment names are `segment <i>...`, for messages.
 * `replicas` says how many devices `auto` gives each segment (default 1).
 */
export function placeSegments(
  devices: DevicesSetting,
  segments: readonly { readonly name: string; readonly model: Uint8Array }[],
  present: readonly Device[],
  replicas?: readonly number[],
): Device[][] {
  // assignDevices puts "segment " before the name itself.
  if (devices === 'auto') return assignDevices(segments.map((s) => ({ ...s, name: s.name.replace(/^segment /, '') })), present, replicas);
  if (devices.length !== segments.length)
    throw new DevicePlacementError(`devices lists ${devices.length} entries for ${segments.length} segment(s)`);
  return devices.map((entry, i) => (typeof entry === 'string' ? [entry] : entry).map((id) => findDevice(id, present, segments[i]!.name)));
}
