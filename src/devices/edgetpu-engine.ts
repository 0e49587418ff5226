/**
 * The Edge TPU engine: one TensorFlow Lite interpreter per segment, bound to one explicit Edge TPU
 * through libedgetpu's delegate, run by the native addon (native/src/edgetpu_addon.cc). Each
 * interpreter invokes on a thread of its own, not on libuv's pool: an invoke holds its thread for the
 * whole device call, and on the pool a few segments would starve sharp, fs and dns. Implements the
 * same Engine contract as the CPU engine.
 *
 * Only stand-ins have exercised this: the fake libedgetpu and libtensorflowlite_c built from
 * test/fakes/. No machine of the project has an Edge TPU.
 */
import { allocate, bytesOf, elementSize, matchesDType } from './dtype.js';
import { EngineError, type DType, type Engine, type NamedTensors, type TensorSpec } from './engine.js';
import { loadNativeAddon, NativeAddonUnavailableError } from './native-addon.js';

/** Where to look for the two libraries; each list is tried in order. */
export interface EdgeTpuLibraryPaths {
  readonly edgetpu?: readonly string[];
  readonly tflite?: readonly string[];
}

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
  readonly libraries?: EdgeTpuLibraryPaths;
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

interface NativeSpec {
  name: string;
  type: number;
  shape: number[];
  byteSize: number;
  scale: number;
  zeroPoint: number;
}

interface NativeInterpreter {
  readonly inputs: NativeSpec[];
  readonly outputs: NativeSpec[];
  invoke(inputs: Uint8Array[], outputs: Uint8Array[]): Promise<void>;
  close(): void;
}

interface EdgeTpuAddon {
  loadLibraries(paths: { edgetpu: string[]; tflite: string[] }): LoadedLibraries;
  listDevices(): { type: 'usb' | 'pci'; path: string }[];
  Interpreter: new (
    model: Uint8Array,
    type: 'usb' | 'pci',
    path: string,
    options: Record<string, string>,
    numThreads: number,
  ) => NativeInterpreter;
}

export interface LoadedLibraries {
  readonly edgetpuPath: string;
  readonly tflitePath: string;
  readonly edgetpuVersion: string;
  readonly tfliteVersion: string;
}

/**
 * Candidate paths: the caller's, else $CORAL_PIPE_LIBEDGETPU / $CORAL_PIPE_LIBTFLITE_C, then the
 * names the Coral packages install (bare names are searched by the dynamic loader).
 */
export function libraryCandidates(paths: EdgeTpuLibraryPaths = {}): { edgetpu: string[]; tflite: string[] } {
  const env = (name: string) => (process.env[name] ? [process.env[name] as string] : []);
  return {
    edgetpu: [...(paths.edgetpu ?? env('CORAL_PIPE_LIBEDGETPU')), 'libedgetpu.so.1'],
    tflite: [
      ...(paths.tflite ?? env('CORAL_PIPE_LIBTFLITE_C')),
      'libtensorflowlite_c.so',
      '/usr/local/lib/libtensorflowlite_c.so',
    ],
  };
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function codeOf(err: unknown): string | undefined {
  return (err as { code?: unknown })?.code === undefined ? undefined : String((err as { code: unknown }).code);
}

/** Loads the addon and both libraries (once per process); throws EdgeTpuUnavailableError saying what is missing. */
export function loadEdgeTpuRuntime(paths: EdgeTpuLibraryPaths = {}, device = 'edgetpu'): { addon: EdgeTpuAddon; libraries: LoadedLibraries } {
  let addon: EdgeTpuAddon;
  try {
    addon = loadNativeAddon<EdgeTpuAddon>('coral_edgetpu');
  } catch (err) {
    if (err instanceof NativeAddonUnavailableError) {
      throw new EdgeTpuUnavailableError(`Edge TPU engine unavailable: ${err.message}`, device, { cause: err });
    }
    throw err;
  }
  try {
    return { addon, libraries: addon.loadLibraries(libraryCandidates(paths)) };
  } catch (err) {
    const hint = codeOf(err) === 'LIBRARY_MISSING'
      ? ' (bare names are searched in LD_LIBRARY_PATH and the ld.so cache; install Coral\'s libedgetpu1-std ' +
        'package and a TensorFlow Lite C library, or set CORAL_PIPE_LIBEDGETPU / CORAL_PIPE_LIBTFLITE_C)'
      : '';
    throw new EdgeTpuUnavailableError(`Edge TPU engine unavailable: ${describe(err)}${hint}`, device, { cause: err });
  }
}

/** The Edge TPUs libedgetpu itself sees (type and path), e.g. to cross-check the sysfs/USB probes. */
export function listEdgeTpuDevices(paths: EdgeTpuLibraryPaths = {}): { type: 'usb' | 'pci'; path: string }[] {
  return loadEdgeTpuRuntime(paths).addon.listDevices();
}

/**
 * TfLiteType enum values of the C API (tensorflow/lite/core/c/c_api_types.h), index = value. Not the
 * flatbuffer schema's TensorType numbering (read-model.ts), which differs (its FLOAT32 is 0).
 */
const TFLITE_TYPES: readonly (DType | undefined)[] = [
  undefined, 'float32', 'int32', 'uint8', 'int64', 'string', 'bool', 'int16', 'complex64', 'int8',
  'float16', 'float64', 'complex128', 'uint64', 'resource', 'variant', 'uint32', 'uint16', 'int4', 'bfloat16',
];

function toSpec(native: NativeSpec, device: string): TensorSpec {
  const dtype = TFLITE_TYPES[native.type];
  if (dtype === undefined) {
    throw new EngineError(`tensor ${native.name} has TfLiteType ${native.type}, which coral-pipe does not know`, device);
  }
  return {
    name: native.name,
    dtype,
    shape: native.shape,
    byteSize: native.byteSize,
    // TFLite reports scale 0 for tensors that are not quantized.
    ...(native.scale !== 0 ? { quantization: { scale: native.scale, zeroPoint: native.zeroPoint } } : {}),
  };
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
  let native: NativeInterpreter;
  try {
    native = new addon.Interpreter(model, device.type, device.selector, { ...options.delegateOptions }, options.numThreads ?? 1);
  } catch (err) {
    throw new EngineError(`cannot open the segment on ${device.id}: ${describe(err)}`, device.id, { cause: err });
  }
  return new EdgeTpuEngine(device.id, native);
}

class EdgeTpuEngine implements Engine {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /** One invoke at a time per interpreter: later calls wait their turn. */
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;

  constructor(readonly device: string, private readonly native: NativeInterpreter) {
    try {
      this.inputs = native.inputs.map((s) => toSpec(s, device));
      this.outputs = native.outputs.map((s) => toSpec(s, device));
    } catch (err) {
      native.close();
      throw err;
    }
  }

  invoke(inputs: NamedTensors): Promise<NamedTensors> {
    // Judged at call time: an invoke made before dispose() still runs, and dispose waits for it.
    if (this.disposed) return Promise.reject(new EngineError('invoke after dispose', this.device));
    const run = this.queue.then(() => this.run(inputs));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async run(inputs: NamedTensors): Promise<NamedTensors> {
    const inBytes = this.inputs.map((spec) => {
      const data = inputs[spec.name];
      if (data === undefined) throw new EngineError(`input ${spec.name} is missing`, this.device);
      if (!matchesDType(spec.dtype, data)) {
        throw new EngineError(`input ${spec.name} must be ${spec.dtype}, got ${data.constructor.name}`, this.device);
      }
      if (data.byteLength !== spec.byteSize) {
        throw new EngineError(`input ${spec.name} must hold ${spec.byteSize} bytes, got ${data.byteLength}`, this.device);
      }
      return bytesOf(data);
    });
    const outputs = this.outputs.map((spec) => {
      const size = elementSize(spec.dtype);
      return size === 0 ? new Uint8Array(spec.byteSize) : allocate(spec.dtype, spec.byteSize / size);
    });
    try {
      await this.native.invoke(inBytes, outputs.map(bytesOf));
    } catch (err) {
      throw new EngineError(`invoke failed on ${this.device}: ${describe(err)}`, this.device, { cause: err });
    }
    return Object.fromEntries(this.outputs.map((spec, i) => [spec.name, outputs[i]!]));
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.queue;
    this.native.close();
  }
}

/** The plain-data form `openEngine` takes (it can be posted to a worker thread). */
export type EdgeTpuEngineSpec = { readonly kind: 'edgetpu'; readonly model: Uint8Array } & EdgeTpuEngineOptions;

export function openEdgeTpuEngine(spec: EdgeTpuEngineSpec): Promise<Engine> {
  return loadEdgeTpuEngine(spec.model, spec);
}
