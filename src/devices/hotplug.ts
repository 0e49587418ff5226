/**
 * Follows devices coming and going: USB attach/detach events (from the `usb` package) trigger a
 * rescan at once, and a periodic poll catches `/sys/class/apex` changes and health changes (sysfs
 * sends no inotify events for new class devices). Emits `added`, `removed` and `changed`.
 *
 * A USB Edge TPU that loads its firmware drops off the bus as 1a6e:089a and comes back as 18d1:9302
 * at the same port: a USB device that vanishes is only reported `removed` if it stays away for
 * `firmwareWindowMs`; if it returns in time, that is one `changed` (its state moved on).
 *
 * Exercised here with scripted enumerations and fake USB events only, never real hot-plug.
 */
import { EventEmitter } from 'node:events';
import type { Device } from './device.js';
import { enumerateDevices, type EnumerateOptions, type Enumeration } from './enumerate.js';

/** Something that says "the USB device set may have changed". */
export interface UsbEventSource {
  /** Calls `onChange` on every attach or detach, `onError` if events cannot be followed; returns the unsubscribe function. */
  subscribe(onChange: () => void, onError: (error: Error) => void): () => void;
}

interface UsbNativeEmitter {
  addAttach(callback: (device: unknown) => void): Promise<void>;
  removeAttach(): Promise<void>;
  addDetach(callback: (handle: string) => void): Promise<void>;
  removeDetach(): Promise<void>;
}

/**
 * Attach/detach events of the `usb` package, through its native emitter rather than its WebUSB
 * object: the WebUSB object reports its own failures (e.g. no /sys/bus/usb) as uncaught exceptions,
 * which would bring the daemon down.
 */
export async function usbPackageEvents(): Promise<UsbEventSource> {
  const native = (await import('usb/index.js')) as unknown as { default: { Emitter: new () => UsbNativeEmitter } };
  return {
    subscribe(onChange, onError) {
      const emitter = new native.default.Emitter();
      const fail = (err: unknown) => onError(err instanceof Error ? err : new Error(String(err)));
      // Serialised, so that an unsubscribe right after subscribe removes what was added.
      let queue = Promise.all([emitter.addAttach(() => onChange()), emitter.addDetach(() => onChange())]).catch(fail);
      return () => {
        queue = queue.then(() => Promise.all([emitter.removeAttach(), emitter.removeDetach()])).catch(fail);
      };
    },
  };
}

export interface DeviceWatcherOptions extends EnumerateOptions {
  /** USB attach/detach events; none when omitted (the poll still finds changes). */
  readonly usbEvents?: UsbEventSource;
  /** How often to rescan; 2000 ms by default, 0 for no polling (call `rescan()` yourself). */
  readonly pollIntervalMs?: number;
  /** How long a vanished USB device may stay away and still count as the same device; 5000 ms by default. */
  readonly firmwareWindowMs?: number;
  /** The scan itself; `enumerateDevices(options)` by default. */
  readonly enumerate?: () => Promise<Enumeration>;
}

export interface DeviceWatcherEvents {
  added: [device: Device];
  removed: [device: Device];
  changed: [device: Device, previous: Device];
  /** A scan failed or USB events could not be followed; the watcher goes on (not named `error`, so an unheard one cannot throw). */
  problem: [error: Error];
}

/** The parts whose change is news: not the temperature, which moves on every poll. */
function signature(d: Device): string {
  return JSON.stringify([d.state, d.health.status, d.health.resetCount, d.health.problems, d.usb?.productId, d.usb?.speed, d.pci?.nodePresent]);
}

export class DeviceWatcher extends EventEmitter<DeviceWatcherEvents> {
  private readonly known = new Map<string, Device>();
  private readonly leaving = new Map<string, NodeJS.Timeout>();
  private scanning: Promise<void> = Promise.resolve();
  private poll?: NodeJS.Timeout;
  private unsubscribe?: () => void;
  private readonly scan: () => Promise<Enumeration>;

  constructor(private readonly options: DeviceWatcherOptions = {}) {
    super();
    this.scan = options.enumerate ?? (() => enumerateDevices(options));
  }

  /** Devices present now (a USB device within its firmware window still counts). */
  devices(): Device[] {
    return [...this.known.values()];
  }

  /** Takes the first inventory (no events for it) and starts following changes. */
  async start(): Promise<void> {
    const { devices } = await this.scan();
    for (const d of devices) this.known.set(d.id, d);
    this.unsubscribe = this.options.usbEvents?.subscribe(
      () => void this.rescan(),
      (err) => this.emit('problem', err),
    );
    const every = this.options.pollIntervalMs ?? 2000;
    if (every > 0) {
      this.poll = setInterval(() => void this.rescan(), every);
      this.poll.unref();
    }
  }

  /** Scans now and emits what changed; scans never overlap. */
  rescan(): Promise<void> {
    this.scanning = this.scanning.then(() => this.scanOnce());
    return this.scanning;
  }

  stop(): void {
    clearInterval(this.poll);
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    for (const timer of this.leaving.values()) clearTimeout(timer);
    this.leaving.clear();
  }

  private async scanOnce(): Promise<void> {
    let devices: Device[];
    try {
      ({ devices } = await this.scan());
    } catch (err) {
      this.emit('problem', err instanceof Error ? err : new Error(String(err)));
      return;
    }
    const present = new Set(devices.map((d) => d.id));
    for (const device of devices) {
      const previous = this.known.get(device.id);
      const timer = this.leaving.get(device.id);
      if (timer) {
        clearTimeout(timer);
        this.leaving.delete(device.id);
      }
      this.known.set(device.id, device);
      if (!previous) this.emit('added', device);
      else if (signature(previous) !== signature(device)) this.emit('changed', device, previous);
    }
    for (const [id, device] of this.known) {
      if (present.has(id) || this.leaving.has(id)) continue;
      if (device.type !== 'usb') {
        this.known.delete(id);
        this.emit('removed', device);
        continue;
      }
      const timer = setTimeout(() => {
        this.leaving.delete(id);
        this.known.delete(id);
        this.emit('removed', device);
      }, this.options.firmwareWindowMs ?? 5000);
      timer.unref();
      this.leaving.set(id, timer);
    }
  }
}
