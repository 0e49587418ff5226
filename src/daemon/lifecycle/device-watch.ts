/**
 * The real device watcher the daemon starts once a pipeline uses an Edge TPU (CPU devices do not
 * come and go): USB hot-plug events when the usb package has them, polling otherwise.
 */
import type { Logger } from 'pino';
import { DeviceWatcher, usbPackageEvents } from '../../devices/hotplug.js';
import { isCpuDeviceId } from '../../devices/device.js';
import type { ClassifierInfo } from '../frames/classifier.js';

export function usesOnlyCpu(info: ClassifierInfo): boolean {
  return info.devices.flat().every((id) => isCpuDeviceId(id));
}

/** A started watcher, or undefined (logged) when devices cannot be watched here. */
export async function startDeviceWatcher(log: Logger): Promise<DeviceWatcher | undefined> {
  const usbEvents = await usbPackageEvents().catch((err: Error) => {
    log.warn({ event: 'devices', err: err.message }, `USB hot-plug events unavailable (polling only): ${err.message}`);
    return undefined;
  });
  const watcher = new DeviceWatcher(usbEvents ? { usbEvents } : {});
  try {
    await watcher.start();
  } catch (err) {
    log.warn({ event: 'devices', err: (err as Error).message }, 'cannot watch devices; unplugged devices show up as executor failures only');
    return undefined;
  }
  return watcher;
}
