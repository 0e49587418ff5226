/**
 * Where each segment of a model runs, the one path the daemon, `coral-pipe run` and `tune` place
 * segments by:
 * - which executor a segment needs: a segment holding `edgetpu-custom-op` runs only through libedgetpu
 *   on an Edge TPU, any other on a CPU device (one pipeline may mix both, e.g. Edge TPU segments, then
 *   CPU post-processing), and its engine spec on a device;
 * - which devices run it: a `devices` setting (per segment a device id or a list of replicas) matched
 *   against the devices present, or `auto`. Ids are the stable ones (`usb:/sys/bus/usb/devices/2-1`,
 *   `pci:/dev/apex_0`, `cpu:0`, `litert:0`, `tflite:0`); `usb:N` / `pci:N` also work and mean the N-th
 *   present Edge TPU of that bus in enumeration order (which shifts as USB devices load firmware);
 * - what PipelinedModelRunner.create then takes. Edge TPUs are claimed (leased) after placement
 *   succeeds and before any engine opens them.
 */
import { isEdgeTpuCompiled } from '../model/graph.js';
import { ModelFormatError } from '../model/errors.js';
import { readModel } from '../model/read-model.js';
import { cpuDevice, isCpuDeviceId, isEdgeTpu, type Device } from './device.js';
import type { EdgeTpuEngineSpec } from './edgetpu-engine.js';
import { enumerateDevices, type Enumeration } from './enumerate.js';

// ---- the executor a segment needs ----

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

// ---- the devices that run it ----

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

// ---- what the runner takes ----

export interface SegmentToPlace {
  /** `segment <i>`, optionally followed by more, e.g. `segment 0 (x_segment_0_of_2_edgetpu.tflite)`; for messages. */
  readonly name: string;
  /** The .tflite bytes. */
  readonly model: Uint8Array;
  /**
   * What the runner gets when the segment runs on CPU executors given by id or chosen by the runner:
   * the bytes by default; a path makes the runner name the segment after its file.
   */
  readonly source?: string | Uint8Array;
}

export interface PlacementContext {
  /** The devices present; when absent and placement needs them, `enumerate` (enumerateDevices by default) is asked. */
  readonly devices?: readonly Device[];
  readonly enumerate?: () => Promise<Enumeration>;
  /** Takes exclusive leases on the Edge TPUs about to be opened; throws DeviceBusyError naming the holder. */
  readonly claim?: (deviceIds: readonly string[]) => void;
}

export interface RunnerInput {
  /** Per segment: its file or bytes (CPU executors), or one engine spec per device placed on. */
  readonly segments: (string | Uint8Array | readonly SegmentEngineSpec[])[];
  /** Per segment CPU device ids, when the setting names only CPUs and no segment is Edge TPU compiled. */
  readonly devices?: string[][];
  /** Replicas per segment for the runner to place, when it places CPU segments itself (`auto`). */
  readonly replicas?: number[];
  /** The Edge TPUs placed on (and claimed); empty when everything runs on CPUs. */
  readonly edgeTpus: Device[];
}

/** Which executor each segment needs; a file that is no model is named by its segment. */
export function executorKinds(segments: readonly SegmentToPlace[]): ExecutorKind[] {
  return segments.map((s) => {
    try {
      return executorKindFor(s.model);
    } catch (err) {
      if (err instanceof ModelFormatError) throw new ModelFormatError(err.problem, `${s.name} ${err.where}`, { cause: err });
      throw err;
    }
  });
}

/**
 * CPU-only segments keep the runner's shared LiteRT module (sources plus CPU ids, or just sources and
 * replica counts for the runner to place); otherwise each segment gets one engine spec per device
 * placed on. `replicas` (per segment, default 1) is how many devices `auto` gives each.
 */
export async function runnerInput(segments: readonly SegmentToPlace[], devices: DevicesSetting, context: PlacementContext = {}, replicas?: readonly number[]): Promise<RunnerInput> {
  const sources = segments.map((s) => s.source ?? s.model);
  const edgeTpuModel = executorKinds(segments).includes('edgetpu');
  if (!edgeTpuModel && !needsEnumeration(devices)) {
    return { segments: sources, devices: (devices as readonly (string | readonly string[])[]).map((d) => (typeof d === 'string' ? [d] : [...d])), edgeTpus: [] };
  }
  if (!edgeTpuModel && devices === 'auto') return { segments: sources, ...(replicas && { replicas: [...replicas] }), edgeTpus: [] };
  const present = context.devices ?? (await (context.enumerate ?? (() => enumerateDevices()))()).devices;
  const placed = placeSegments(devices, segments, present, replicas);
  // engineSpecFor puts "segment " before the name itself.
  const specs = placed.map((replicas, i) => replicas.map((device) => engineSpecFor(segments[i]!.name.replace(/^segment /, ''), segments[i]!.model, device)));
  const edgeTpus = [...new Set(placed.flat().filter(isEdgeTpu))];
  context.claim?.(edgeTpus.map((d) => d.id));
  return { segments: specs, edgeTpus };
}
