/**
 * The TensorFlow Lite C library through the native addon (native/src/edgetpu_addon.cc): finding and
 * loading it and libedgetpu, and one Engine over one interpreter, which the Edge TPU engine (with
 * libedgetpu's delegate) and the native CPU engine (no delegate, or XNNPACK's) share. Each interpreter
 * invokes on a thread of its own, not on libuv's pool: an invoke holds its thread for the whole call,
 * and on the pool a few segments would starve sharp, fs and dns.
 *
 * Has run the real TFLite 2.9.0 C library (fetched by native/fetch-tflite.mjs); libedgetpu only as the
 * tests' stand-in. No machine of the project has an Edge TPU.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { allocate, bytesOf, elementSize, matchesDType, type DType, type NamedTensors, type TensorSpec } from '../tensors/tensor.js';
import { EngineError, type Engine } from './engine.js';
import { loadNativeAddon, NativeAddonUnavailableError, nativeRoot } from '../native/addon.js';
import { EDGETPU_CUSTOM_OP } from '../model/index.js';

/** Where to look for the two libraries; each list is tried in order. */
export interface TfliteLibraryPaths {
  readonly edgetpu?: readonly string[];
  readonly tflite?: readonly string[];
}

export interface NativeSpec {
  name: string;
  type: number;
  shape: number[];
  byteSize: number;
  scale: number;
  zeroPoint: number;
}

export interface NativeInterpreter {
  readonly inputs: NativeSpec[];
  readonly outputs: NativeSpec[];
  invoke(inputs: Uint8Array[], outputs: Uint8Array[]): Promise<void>;
  close(): void;
}

export interface TfliteAddon {
  loadLibraries(paths: { edgetpu: string[]; tflite: string[] }): LoadedLibraries;
  listDevices(): { type: 'usb' | 'pci'; path: string }[];
  Interpreter: new (
    model: Uint8Array,
    type: 'usb' | 'pci' | 'cpu',
    path: string,
    options: Record<string, string>,
    numThreads: number,
  ) => NativeInterpreter;
}

export interface LoadedLibraries {
  readonly tflitePath: string;
  readonly tfliteVersion: string;
  /** Absent when libedgetpu could not be loaded; then `edgetpuError` says why and where it looked. */
  readonly edgetpuPath?: string;
  readonly edgetpuVersion?: string;
  readonly edgetpuError?: string;
}

/** The TFLite C library native/fetch-tflite.mjs installs with the package. */
export function bundledTflitePath(): string {
  return path.join(nativeRoot(), 'tflite', 'lib', 'libtensorflowlite_c.so');
}

/**
 * Candidate paths: the caller's, else $CORAL_PIPE_LIBEDGETPU / $CORAL_PIPE_LIBTFLITE_C; for TFLite then
 * the library installed with the package; then the names the system's packages install (bare names are
 * searched by the dynamic loader).
 */
function libraryCandidates(paths: TfliteLibraryPaths = {}): { edgetpu: string[]; tflite: string[] } {
  const env = (name: string) => (process.env[name] ? [process.env[name] as string] : []);
  const bundled = bundledTflitePath();
  return {
    edgetpu: [...(paths.edgetpu ?? env('CORAL_PIPE_LIBEDGETPU')), 'libedgetpu.so.1'],
    tflite: [
      ...(paths.tflite ?? env('CORAL_PIPE_LIBTFLITE_C')),
      ...(existsSync(bundled) ? [bundled] : []),
      'libtensorflowlite_c.so',
      '/usr/local/lib/libtensorflowlite_c.so',
    ],
  };
}

/** How to get what is missing, for messages. */
export const TFLITE_HINT =
  'run `node native/fetch-tflite.mjs` in the coral-pipe folder (npm install does it), or set CORAL_PIPE_LIBTFLITE_C';
export const EDGETPU_HINT =
  "install Coral's libedgetpu1-std package (https://coral.ai/software/#debian-packages), or set CORAL_PIPE_LIBEDGETPU";

/** The addon or the TFLite C library cannot be loaded: says which and how to get it. */
export class TfliteUnavailableError extends EngineError {
  constructor(message: string, device: string, options?: { cause?: unknown }) {
    super(message, device, options);
    this.name = 'TfliteUnavailableError';
  }
}

/** An error's message on one line: TFLite's own messages span several. */
export function describe(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ');
}

function codeOf(err: unknown): string | undefined {
  return (err as { code?: unknown })?.code === undefined ? undefined : String((err as { code: unknown }).code);
}

/** Loads the addon and the libraries (TFLite once per process, libedgetpu until found). */
export function loadTfliteRuntime(paths: TfliteLibraryPaths = {}, device = 'tflite'): { addon: TfliteAddon; libraries: LoadedLibraries } {
  let addon: TfliteAddon;
  try {
    addon = loadNativeAddon<TfliteAddon>('coral_edgetpu');
  } catch (err) {
    if (err instanceof NativeAddonUnavailableError) throw new TfliteUnavailableError(err.message, device, { cause: err });
    throw err;
  }
  try {
    return { addon, libraries: addon.loadLibraries(libraryCandidates(paths)) };
  } catch (err) {
    const hint = codeOf(err) === 'LIBRARY_MISSING' ? ` (${TFLITE_HINT})` : '';
    throw new TfliteUnavailableError(`${describe(err)}${hint}`, device, { cause: err });
  }
}

/**
 * TfLiteType enum values of the C API (tensorflow/lite/c/c_api_types.h), index = value. Not the
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

/**
 * Opens an interpreter, turning TFLite's refusals into the user's terms: an Edge TPU model with no
 * Edge TPU says so and names the custom op, where TFLite says only "unresolved custom op".
 */
export function openInterpreter(addon: TfliteAddon, model: Uint8Array, where: { type: 'usb' | 'pci' | 'cpu'; path: string; device: string }, options: Record<string, string>, numThreads: number): Engine {
  let native: NativeInterpreter;
  try {
    native = new addon.Interpreter(model, where.type, where.path, options, numThreads);
  } catch (err) {
    const message = describe(err);
    if (where.type === 'cpu' && message.includes(`custom op: ${EDGETPU_CUSTOM_OP}`)) {
      throw new EngineError(
        `the model needs an Edge TPU: it holds the custom op ${EDGETPU_CUSTOM_OP}, which only libedgetpu on an Edge TPU runs (TensorFlow Lite: ${message})`,
        where.device,
        { cause: err },
      );
    }
    throw new EngineError(message, where.device, { cause: err });
  }
  return new TfliteEngine(where.device, native);
}

/** One interpreter as an Engine. */
class TfliteEngine implements Engine {
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
