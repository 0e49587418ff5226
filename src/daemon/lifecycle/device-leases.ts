/**
 * The daemon's leases on the Edge TPUs it uses: taken before a pipeline opens a device and held for
 * the life of the process, so a reload or rebuild onto the same devices re-uses them instead of
 * clashing with itself, while another process asking for them is told who holds them. CPU devices are
 * never leased.
 */
import { acquireLeases, type Lease, type LeaseOptions } from '../../devices/lease.js';
import { isCpuDeviceId } from '../../devices/device.js';

export class ProcessLeases {
  private readonly held = new Map<string, Lease>();

  constructor(private readonly options: LeaseOptions = {}) {}

  /** Leases every id not held yet, all or none; throws DeviceBusyError (naming the holder) or LeaseError. */
  claim(deviceIds: readonly string[]): void {
    const wanted = deviceIds.filter((id) => !isCpuDeviceId(id) && !this.held.has(id));
    if (wanted.length === 0) return;
    for (const lease of acquireLeases(wanted, this.options).leases) this.held.set(lease.deviceId, lease);
  }

  /** Ids leased now. */
  ids(): string[] {
    return [...this.held.keys()];
  }

  releaseAll(): void {
    for (const lease of this.held.values()) lease.release();
    this.held.clear();
  }
}
