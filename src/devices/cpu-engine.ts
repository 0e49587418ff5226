/**
 * The CPU engine: a whole model or one segment run by LiteRT's WebAssembly runtime (XNNPACK) in this
 * thread. Tensor specs come from our own .tflite codec, because the runtime does not report
 * quantization and names some tensors by signature key rather than by tensor name.
 */
import { bytesOf, elementSize, viewAs, type NamedTensors, type TensorSpec, checkNamedTensors, TensorInputError } from '../tensors/tensor.js';
import { EngineError, type Engine } from './engine.js';
import { loadLiteRtRuntime } from './litert/runtime.js';
import { WasmModel } from './litert/wasm-model.js';
import { customOperatorNames, EDGETPU_CUSTOM_OP, readModel, type Model, type SubGraph } from '../model/index.js';
import { tensorSpec } from '../model/tensor-spec.js';

/** The model cannot run on this engine: custom ops, tensor types, or the runtime refused it. */
export class UnsupportedModelError extends EngineError {
  constructor(message: string, device: string, options?: { cause?: unknown }) {
    super(message, device, options);
    this.name = 'UnsupportedModelError';
  }
}

/** An invoke's inputs do not match the engine's input specs (missing, extra, wrong type or size). */
export class EngineInputError extends EngineError {
  constructor(message: string, device: string, options?: { cause?: unknown }) {
    super(message, device, options);
    this.name = 'EngineInputError';
  }
}

export interface CpuEngineOptions {
  /** The id the engine reports, `cpu:0` by default. */
  readonly device?: string;
  /** XNNPACK threads; LiteRT's default when absent. */
  readonly numThreads?: number;
}

/**
 * Loads and compiles `bytes` (a .tflite model) for the CPU and runs it once on zeros, so a model the
 * runtime cannot allocate fails here rather than on the first request. Throws UnsupportedModelError.
 */
export async function loadCpuEngine(bytes: Uint8Array, options: CpuEngineOptions = {}): Promise<Engine> {
  const device = options.device ?? 'cpu:0';
  const model = parse(bytes, device);
  const refusal = cpuRefusal(model);
  if (refusal !== undefined) throw new UnsupportedModelError(refusal, device);
  const litert = await loadLiteRtRuntime();
  let wasm: WasmModel;
  try {
    wasm = await WasmModel.load(litert, bytes, options.numThreads === undefined ? {} : { numThreads: options.numThreads });
  } catch (err) {
    throw new UnsupportedModelError(`LiteRT cannot run the model: ${(err as Error).message}`, device, { cause: err });
  }
  try {
    const engine = new CpuEngine(device, wasm, specsOf(model, wasm, device));
    await engine.warmUp();
    return engine;
  } catch (err) {
    await wasm.delete();
    throw err;
  }
}

/**
 * Why the CPU engine cannot run `model`, as far as the graph tells without loading it: custom ops,
 * which LiteRT has no kernels for (it "runs" an Edge TPU model without error and returns garbage).
 */
export function cpuRefusal(model: Model): string | undefined {
  const custom = customOperatorNames(model);
  if (custom.length === 0) return undefined;
  const edgetpu = custom.includes(EDGETPU_CUSTOM_OP) ? ' (an Edge TPU-compiled model runs only on an Edge TPU)' : '';
  return `the model holds custom op ${custom.map((n) => `"${n}"`).join(', ')}, which the CPU engine cannot run${edgetpu}`;
}

function parse(bytes: Uint8Array, device: string): Model {
  try {
    return readModel(bytes);
  } catch (err) {
    throw new UnsupportedModelError(`cannot read the model: ${(err as Error).message}`, device, { cause: err });
  }
}

/**
 * Input and output specs in the runtime's signature order. LiteRT's default signature is the model's
 * first SignatureDef (names are its keys) or, without one, subgraph 0's inputs and outputs in order.
 */
function specsOf(model: Model, wasm: WasmModel, device: string): { inputs: TensorSpec[]; outputs: TensorSpec[] } {
  const def = model.signatureDefs[0];
  const subgraph = model.subgraphs[def?.subgraphIndex ?? 0];
  if (!subgraph) throw new UnsupportedModelError('the model has no subgraph', device);
  const indices = (kind: 'inputs' | 'outputs', names: readonly string[]): number[] => {
    if (!def) return [...subgraph[kind]];
    return names.map((name) => {
      const entry = def[kind].find((m) => m.name === name);
      if (!entry) throw new UnsupportedModelError(`signature "${def.signatureKey}" has no ${kind.slice(0, -1)} "${name}"`, device);
      return entry.tensorIndex;
    });
  };
  const build = (kind: 'inputs' | 'outputs', names: readonly string[], runtimeBytes: readonly number[]): TensorSpec[] => {
    const list = indices(kind, names);
    if (list.length !== names.length) {
      throw new UnsupportedModelError(`the model has ${list.length} ${kind} but LiteRT sees ${names.length}`, device);
    }
    const specs = list.map((index, i) => {
      const spec = specOf(subgraph, index, kind, device);
      if (spec.byteSize !== runtimeBytes[i]) {
        throw new UnsupportedModelError(
          `${kind.slice(0, -1)} "${spec.name}" (${spec.dtype}[${spec.shape.join('x')}]) is ${spec.byteSize} bytes ` +
            `but LiteRT sizes it ${runtimeBytes[i]} (dynamic shapes are not supported)`,
          device,
        );
      }
      return spec;
    });
    const seen = new Set<string>();
    for (const spec of specs) {
      if (seen.has(spec.name)) throw new UnsupportedModelError(`two ${kind} share the name "${spec.name}"`, device);
      seen.add(spec.name);
    }
    return specs;
  };
  return {
    inputs: build('inputs', wasm.inputNames, wasm.inputBytes),
    outputs: build('outputs', wasm.outputNames, wasm.outputBytes),
  };
}

function specOf(subgraph: SubGraph, index: number, kind: string, device: string): TensorSpec {
  const tensor = subgraph.tensors[index];
  if (!tensor) throw new UnsupportedModelError(`${kind} tensor index ${index} is out of range`, device);
  if (elementSize(tensor.type) === 0) {
    throw new UnsupportedModelError(`tensor "${tensor.name}" has type ${tensor.type}, which the CPU engine cannot pass`, device);
  }
  return tensorSpec(tensor);
}

class CpuEngine implements Engine {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  private disposed = false;

  constructor(
    readonly device: string,
    private readonly wasm: WasmModel,
    specs: { inputs: TensorSpec[]; outputs: TensorSpec[] },
  ) {
    this.inputs = specs.inputs;
    this.outputs = specs.outputs;
  }

  /** One run on zeros: the runtime allocates tensors on the first run and fails only then. */
  async warmUp(): Promise<void> {
    try {
      await this.wasm.run(this.inputs.map((spec) => new Uint8Array(spec.byteSize)));
    } catch (err) {
      throw new UnsupportedModelError(`LiteRT cannot run the model: ${(err as Error).message}`, this.device, { cause: err });
    }
  }

  async invoke(inputs: NamedTensors): Promise<NamedTensors> {
    if (this.disposed) throw new EngineError(`invoke after dispose on ${this.device}`, this.device);
    try {
      checkNamedTensors(this.inputs, inputs, this.device);
    } catch (err) {
      if (err instanceof TensorInputError) throw new EngineInputError(err.message, this.device, { cause: err });
      throw err;
    }
    let outputs: Uint8Array[];
    try {
      outputs = await this.wasm.run(this.inputs.map((spec) => bytesOf(inputs[spec.name]!)));
    } catch (err) {
      throw new EngineError(`invoke failed on ${this.device}: ${(err as Error).message}`, this.device, { cause: err });
    }
    // The copies own fresh, aligned ArrayBuffers, so the typed views the caller gets are theirs.
    return Object.fromEntries(this.outputs.map((spec, i) => [spec.name, viewAs(spec.dtype, outputs[i]!)]));
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.wasm.delete();
  }
}
