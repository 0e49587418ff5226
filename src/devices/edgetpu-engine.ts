/**
 * The Edge TPU engine: one TensorFlow Lite interpreter per segment, bound to one explicit Edge TPU
 * through libedgetpu's delegate (tflite-runtime.ts runs it). Implements the same Engine contract as
 * the CPU engines.
 *
 * Has run on the real TensorFlow Lite C library, but libedgetpu only as the tests' stand-in
 * (test/fakes/standin_edgetpu.c, a real delegate with fake devices). No machine of the project has an
 * Edge TPU.
 */
import { EngineError, type Engine } from './engine.js';
import { describe, EDGETPU_HINT, loadTfliteRuntime, openInterpreter, TfliteUnavailableError, type LoadedLibraries, type TfliteAddon, type TfliteLibraryPaths } from './tflite-runtime.js';

export interface EdgeTpuDeviceRef {
  /** The id the engine reports as `Engine.device`, e.g. `usb:/sys/bus/usb/devices/2-1`. */
  readonly id: string;
  readonly type: 'usb' | 'pci';
  /** The device path libedgetpu takes: USB sysfs path or `/dev/apex_N` (a `Device.selector`). */
  readonly selector: string;
}

export interface EdgeTpuEngineOptions {
  /** A `Device` of type usb or pci does. */
  readonly device: EdgeTpuDeviceRef;
  readonly libraries?: TfliteLibraryPaths;
  /** libedgetpu delegate options, e.g. `{Performance: 'max', 'Usb.MaxBulkInQueueLength': '32'}`. */
  readonly delegateOptions?: Readonly<Record<string, string>>;
  /** CPU threads for ops the Edge TPU does not run; 1 by default. */
  readonly numThreads?: number;
}

/** The Edge TPU engine cannot run here: addon not built, or a library missing or incompatible. */
export class EdgeTpuUnavailableError extends EngineError {
  constructor(message: string, device: string, options?: { cause?: unknown }) {
    super(message, device, options);
    this.name = 'EdgeTpuUnavailableError';
  }
}

/** Loads the addon, TFLite and libedgetpu; throws EdgeTpuUnavailableError saying what is missing. */
export function loadEdgeTpuRuntime(paths: TfliteLibraryPaths = {}, device = 'edgetpu'): { addon: TfliteAddon; libraries: LoadedLibraries } {
  let runtime: ReturnType<typeof loadTfliteRuntime>;
  try {
    runtime = loadTfliteRuntime(paths, device);
  } catch (err) {
    if (err instanceof TfliteUnavailableError) throw new EdgeTpuUnavailableError(`Edge TPU engine unavailable: ${err.message}`, device, { cause: err });
    throw err;
  }
  const { edgetpuError } = runtime.libraries;
  if (edgetpuError !== undefined) {
    const hint = edgetpuError.includes('could not be loaded') ? ` (bare names are searched in LD_LIBRARY_PATH and the ld.so cache; ${EDGETPU_HINT})` : '';
    throw new EdgeTpuUnavailableError(`Edge TPU engine unavailable: ${edgetpuError}${hint}`, device);
  }
  return runtime;
}

/** The Edge TPUs libedgetpu itself sees (type and path), e.g. to cross-check the sysfs/USB probes. */
export function listEdgeTpuDevices(paths: TfliteLibraryPaths = {}): { type: 'usb' | 'pci'; path: string }[] {
  return loadEdgeTpuRuntime(paths).addon.listDevices();
}

/** Opens `model` (a segment, usually `*_edgetpu.tflite`) on exactly the given Edge TPU. */
export async function loadEdgeTpuEngine(model: Uint8Array, options: EdgeTpuEngineOptions): Promise<Engine> {
  const { device } = options;
  if (!device.selector) throw new EngineError('an Edge TPU engine needs an explicit device path', device.id);
  const { addon } = loadEdgeTpuRuntime(options.libraries, device.id);

  const seen = addon.listDevices();
  if (!seen.some((d) => d.type === device.type && d.path === device.selector)) {
    const list = seen.map((d) => `${d.type}:${d.path}`).join(', ') || 'none';
    throw new EngineError(`libedgetpu does not see ${device.type} device ${device.selector} (it sees: ${list})`, device.id);
  }
  try {
    return openInterpreter(addon, model, { type: device.type, path: device.selector, device: device.id }, { ...options.delegateOptions }, options.numThreads ?? 1);
  } catch (err) {
    throw new EngineError(`cannot open the segment on ${device.id}: ${describe(err)}`, device.id, { cause: err });
  }
}

/** The plain-data form `openEngine` takes (it can be posted to a worker thread). */
export type EdgeTpuEngineSpec = { readonly kind: 'edgetpu'; readonly model: Uint8Array } & EdgeTpuEngineOptions;

export function openEdgeTpuEngine(spec: EdgeTpuEngineSpec): Promise<Engine> {
  return loadEdgeTpuEngine(spec.model, spec);
}
