/** `coral-pipe/devices`: the accelerators and CPUs a pipeline can use, found, leased and watched. */
export { enumerateDevices, type EnumerateOptions, type Enumeration } from './enumerate.js';
export { cpuDevices, isEdgeTpu, type Device, type DeviceType, type DeviceState, type DeviceHealth } from './device.js';
export { acquireLease, acquireLeases, leaseHolder, DeviceBusyError, LeaseError, type Lease } from './lease.js';
export { DeviceWatcher, type DeviceWatcherOptions } from './hotplug.js';
