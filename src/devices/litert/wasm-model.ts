/**
 * One .tflite model compiled by LiteRT's WebAssembly runtime, driven through the runtime's own
 * bindings (`LiteRt.liteRtWasm`) rather than LiteRT.js's `Tensor`/`CompiledModel` wrappers: those know
 * only float32, int32 and uint8, and refuse (at compile time) any model with an int8, int16, int64 ...
 * input or output. The bindings take tensor buffers of any element type, so raw bytes go in and out.
 *
 * LiteRT reports some failures only as log lines ("Failed to allocate tensors") and then returns
 * zeros; every call here watches the log and throws LiteRtCallError instead. Calls into the runtime
 * are serialized per thread, so the lines read during a call belong to that call.
 */
import type { LiteRtModule } from './runtime.js';
import { captureLiteRtLog } from './runtime.js';

type LiteRt = ReturnType<LiteRtModule['getGlobalLiteRt']>;
type LiteRtWasm = LiteRt['liteRtWasm'];
type LiteRtModel = ReturnType<LiteRtWasm['loadModel']>;
type LiteRtCompiledModel = Awaited<ReturnType<LiteRtWasm['compileModel']>>;
type LiteRtTensorBuffer = ReturnType<LiteRtWasm['LiteRtTensorBuffer']['createManaged']>;

/** A LiteRT call failed: `message` says which call and why, `log` holds the runtime's error lines. */
export class LiteRtCallError extends Error {
  constructor(message: string, readonly log: readonly string[], options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LiteRtCallError';
  }
}

/** Log lines that mean the call did not do its work, although it returned normally. */
const SILENT_FAILURE = /failed to allocate tensors|failed to invoke|failed to prepare|invoke failed/i;

let turn: Promise<unknown> = Promise.resolve();

/** Runs `call` after every earlier runtime call of this thread, with LiteRT's log lines captured. */
function serialized<T>(what: string, call: () => T | Promise<T>): Promise<T> {
  const run = turn.then(async () => {
    const lines: string[] = [];
    const stop = captureLiteRtLog((line) => lines.push(line));
    let result: T;
    try {
      result = await call();
    } catch (err) {
      throw new LiteRtCallError(failureText(what, err, lines), errorLines(lines), { cause: err });
    } finally {
      stop();
    }
    if (lines.some((line) => SILENT_FAILURE.test(line))) {
      throw new LiteRtCallError(failureText(what, undefined, lines), errorLines(lines));
    }
    return result;
  });
  turn = run.catch(() => undefined);
  return run;
}

function errorLines(lines: readonly string[]): string[] {
  return lines.filter((line) => line.startsWith('ERROR')).map((line) => line.replace(/^ERROR:\s*(\[[^\]]*\]\s*)?/, ''));
}

function failureText(what: string, err: unknown, lines: readonly string[]): string {
  const reasons = [...(err === undefined ? [] : [err instanceof Error ? err.message : String(err)]), ...errorLines(lines)];
  return `${what} failed: ${reasons.length > 0 ? reasons.join('; ') : 'no reason given'}`;
}

export interface WasmModelOptions {
  /** CPU threads for XNNPACK; the runtime's default when absent. */
  readonly numThreads?: number;
}

export class WasmModel {
  private deleted = false;

  private constructor(
    private readonly wasm: LiteRtWasm,
    private readonly modelPtr: number,
    private readonly model: LiteRtModel,
    private readonly compiled: LiteRtCompiledModel,
    /** One reusable buffer per input, in signature order. */
    private readonly inputBuffers: readonly LiteRtTensorBuffer[],
    /** Input and output names in the order of the runtime's default signature. */
    readonly inputNames: readonly string[],
    readonly outputNames: readonly string[],
    /** Bytes of each input and output as the runtime sizes them. */
    readonly inputBytes: readonly number[],
    readonly outputBytes: readonly number[],
  ) {}

  /** Copies `bytes` into the runtime and compiles them for its CPU (XNNPACK) path. */
  static load(litert: LiteRtModule, bytes: Uint8Array, options: WasmModelOptions = {}): Promise<WasmModel> {
    return serialized('loading the model', async () => {
      const global = litert.getGlobalLiteRt();
      const wasm = global.liteRtWasm;
      const env = global.getDefaultEnvironment().liteRtEnvironment;
      const ptr = wasm._malloc(bytes.byteLength);
      const owned: { delete(): void }[] = [];
      try {
        wasm.HEAPU8.set(bytes, ptr);
        const model = wasm.loadModel(env, ptr, bytes.byteLength);
        owned.push(model);
        const compileOptions = {
          accelerator: 'wasm' as const,
          cpuOptions: { numThreads: options.numThreads ?? wasm.getThreadCount() },
          gpuOptions: {},
          webNNOptions: {},
        };
        const compiled = await wasm.compileModel(env, model, compileOptions);
        owned.push(compiled);
        const signature = model.getSignature(0);
        owned.push(signature);
        const inputNames = vectorToArray(signature.inputNames());
        const outputNames = vectorToArray(signature.outputNames());
        const inputBytes: number[] = [];
        const inputBuffers = inputNames.map((_, i) => {
          const type = model.getInputTensorType(0, i);
          try {
            inputBytes.push(type.bytes());
            const buffer = wasm.LiteRtTensorBuffer.createManaged(env, wasm.LiteRtTensorBufferType.HOST_MEMORY, type, type.bytes());
            owned.push(buffer);
            return buffer;
          } finally {
            type.delete();
          }
        });
        const outputBytes = outputNames.map((_, i) => {
          const type = model.getOutputTensorType(0, i);
          try {
            return type.bytes();
          } finally {
            type.delete();
          }
        });
        signature.delete();
        return new WasmModel(wasm, ptr, model, compiled, inputBuffers, inputNames, outputNames, inputBytes, outputBytes);
      } catch (err) {
        for (const object of owned.reverse()) object.delete();
        wasm._free(ptr);
        throw err;
      }
    });
  }

  /** Runs the model once on raw input bytes (signature order); resolves with copies of the outputs. */
  run(inputs: readonly Uint8Array[]): Promise<Uint8Array[]> {
    return serialized('running the model', async () => {
      if (this.deleted) throw new Error('the model was deleted');
      const { wasm } = this;
      inputs.forEach((bytes, i) => {
        const buffer = this.inputBuffers[i]!;
        const ptr = buffer.lock(wasm.LiteRtTensorBufferLockMode.WRITE);
        try {
          wasm.HEAPU8.set(bytes, ptr);
        } finally {
          buffer.unlock();
        }
      });
      const outputs = await this.compiled.run(0, [...this.inputBuffers]);
      try {
        return outputs.map((buffer) => {
          const ptr = buffer.lock(wasm.LiteRtTensorBufferLockMode.READ);
          try {
            // HEAPU8 is read again after every call: the WASM memory may have grown and moved.
            return wasm.HEAPU8.slice(ptr, ptr + buffer.packedSize());
          } finally {
            buffer.unlock();
          }
        });
      } finally {
        for (const buffer of outputs) buffer.delete();
      }
    });
  }

  /** Frees everything in the runtime; waits for a run in progress. Safe to call twice. */
  delete(): Promise<void> {
    return serialized('deleting the model', () => {
      if (this.deleted) return;
      this.deleted = true;
      for (const buffer of this.inputBuffers) buffer.delete();
      this.compiled.delete();
      this.model.delete();
      this.wasm._free(this.modelPtr);
    });
  }
}

function vectorToArray<T>(vector: { size(): number; get(i: number): T; delete(): void }): T[] {
  try {
    return Array.from({ length: vector.size() }, (_, i) => vector.get(i));
  } finally {
    vector.delete();
  }
}
