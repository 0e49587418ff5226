/**
 * Which executor a segment needs, and the engine spec for a segment on a device: a segment holding
 * `edgetpu-custom-op` runs only through libedgetpu on an Edge TPU; any other segment runs on a CPU
 * device. One pipeline may mix both (e.g. Edge TPU segments, then CPU post-processing).
 */
import { isEdgeTpuCompiled } from '../model/graph.js';
import { readModel } from '../model/read-model.js';
import { isEdgeTpu, type Device } from './device.js';
import type { EdgeTpuEngineSpec } from './edgetpu-engine.js';

export type ExecutorKind = 'edgetpu' | 'cpu';

export type SegmentEngineSpec =
  | EdgeTpuEngineSpec
  | { readonly kind: 'cpu'; readonly model: Uint8Array; readonly device: string };

export class DeviceMismatchError extends Error {
  constructor(message: string, readonly segment: string, readonly device: string) {
    super(message);
    this.name = 'DeviceMismatchError';
  }
}

export function executorKindFor(model: Uint8Array): ExecutorKind {
  return isEdgeTpuCompiled(readModel(model)) ? 'edgetpu' : 'cpu';
}

/** The engine spec for `segment` (a name for messages) on `device`; throws when the device cannot run it. */
export function engineSpecFor(segment: string, model: Uint8Array, device: Device): SegmentEngineSpec {
  const kind = executorKindFor(model);
  if (kind === 'edgetpu') {
    if (!isEdgeTpu(device)) {
      throw new DeviceMismatchError(`segment ${segment} is Edge TPU compiled (holds edgetpu-custom-op) and cannot run on ${device.id}; give it a usb or pci device`, segment, device.id);
    }
    if (device.state === 'unhealthy') {
      throw new DeviceMismatchError(`device ${device.id} for segment ${segment} is unhealthy: ${device.health.problems.join('; ')}`, segment, device.id);
    }
    return { kind: 'edgetpu', model, device: { id: device.id, type: device.type as 'usb' | 'pci', selector: device.selector } };
  }
  if (device.type !== 'cpu') {
    throw new DeviceMismatchError(`segment ${segment} is not Edge TPU compiled and cannot run on ${device.id}; compile it with edgetpu_compiler or give it a cpu device`, segment, device.id);
  }
  return { kind: 'cpu', model, device: device.id };
}

/**
 * `auto` placement: each Edge TPU segment gets its own usable Edge TPUs (in the order given, PCIe
 * before USB as enumerateDevices lists them), each CPU segment the next CPU devices in turn; a
 * segment gets `replicas[i]` of them (default 1).
 */
export function assignDevices(segments: readonly { name: string; model: Uint8Array }[], devices: readonly Device[], replicas: readonly number[] = []): Device[][] {
  const tpus = devices.filter((d) => isEdgeTpu(d) && d.state !== 'unhealthy');
  const cpus = devices.filter((d) => d.type === 'cpu');
  const wantTpus = segments.reduce((n, s, i) => n + (executorKindFor(s.model) === 'edgetpu' ? (replicas[i] ?? 1) : 0), 0);
  let nextTpu = 0;
  let nextCpu = 0;
  return segments.map(({ name, model }, i) =>
    Array.from({ length: replicas[i] ?? 1 }, () => {
      if (executorKindFor(model) === 'edgetpu') {
        const device = tpus[nextTpu++];
        if (!device) {
          throw new DeviceMismatchError(`segment ${name} needs an Edge TPU, but only ${tpus.length} usable Edge TPU(s) are present for the ${wantTpus} the Edge TPU segments need`, name, '');
        }
        return device;
      }
      const device = cpus[nextCpu++ % Math.max(cpus.length, 1)];
      if (!device) throw new DeviceMismatchError(`segment ${name} needs a CPU device and none is configured`, name, '');
      return device;
    }),
  );
}
