/**
 * From segment models, a `devices` setting and the devices present to what PipelinedModelRunner.create
 * takes: the one path both the daemon and `coral-pipe run` place segments by. Edge TPUs are claimed
 * (leased) after placement succeeds and before any engine opens them.
 */
import { isEdgeTpu, type Device } from '../devices/device.js';
import { engineSpecFor, executorKindFor, type ExecutorKind } from '../devices/engine-choice.js';
import { enumerateDevices, type Enumeration } from '../devices/enumerate.js';
import { needsEnumeration, placeSegments, type DevicesSetting } from '../devices/segment-placement.js';
import { ModelFormatError } from '../model/errors.js';
import type { SegmentSource } from './segment-source.js';

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
  readonly segments: SegmentSource[];
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
