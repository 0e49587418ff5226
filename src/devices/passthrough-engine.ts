/**
 * An engine that copies input i to output i. It measures the runner's own overhead (no inference
 * cost) and, with its fault options, lets tests make an invoke fail, hang or crash its thread on cue.
 */
import type { Engine } from './engine.js';
import { type NamedTensors, type TensorSpec, allocate, bytesOf, elementSize, checkNamedTensors } from '../tensors/tensor.js';
import { EngineError } from './engine.js';

export interface PassThroughFaults {
  /** 0-based invoke numbers that reject with an EngineError. */
  readonly failOn?: readonly number[];
  /** Invoke numbers that never settle. */
  readonly hangOn?: readonly number[];
  /** Invoke numbers that throw outside any promise, killing the thread the engine runs in. */
  readonly crashOn?: readonly number[];
  /** `open` never settles, like a device that does not answer. */
  readonly hangOnOpen?: boolean;
}

export interface PassThroughOptions {
  readonly device: string;
  readonly inputs: readonly TensorSpec[];
  /** Output i receives input i's bytes; defaults to the inputs' specs renamed `<name>:out`. */
  readonly outputs?: readonly TensorSpec[];
  /** Each invoke waits this long first, to stand in for inference time. */
  readonly delayMs?: number;
  readonly faults?: PassThroughFaults;
}

export class PassThroughEngine implements Engine {
  readonly device: string;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  private invokes = 0;
  private disposed = false;

  /** Opens like a real engine would (asynchronously), honouring the hangOnOpen fault. */
  static async open(options: PassThroughOptions): Promise<PassThroughEngine> {
    if (options.faults?.hangOnOpen) await new Promise(() => {});
    return new PassThroughEngine(options);
  }

  constructor(private readonly options: PassThroughOptions) {
    this.device = options.device;
    this.inputs = options.inputs;
    this.outputs = options.outputs ?? options.inputs.map((s) => ({ ...s, name: `${s.name}:out` }));
    if (this.outputs.length !== this.inputs.length) {
      throw new EngineError(`pass-through needs as many outputs as inputs (${this.inputs.length}), got ${this.outputs.length}`, this.device);
    }
    this.outputs.forEach((out, i) => {
      if (out.byteSize !== this.inputs[i]!.byteSize) {
        throw new EngineError(`pass-through output "${out.name}" has ${out.byteSize} bytes but input "${this.inputs[i]!.name}" has ${this.inputs[i]!.byteSize}`, this.device);
      }
    });
  }

  async invoke(inputs: NamedTensors): Promise<NamedTensors> {
    const outputs: NamedTensors = {};
    for (const spec of this.outputs) outputs[spec.name] = allocate(spec.dtype, spec.byteSize / (elementSize(spec.dtype) || 1));
    await this.invokeInto(inputs, outputs);
    return outputs;
  }

  /** Writes the outputs into caller-owned arrays, so a steady stream allocates nothing. */
  async invokeInto(inputs: NamedTensors, outputs: NamedTensors): Promise<void> {
    if (this.disposed) throw new EngineError('pass-through engine used after dispose', this.device);
    const n = this.invokes++;
    const faults = this.options.faults;
    if (faults?.crashOn?.includes(n)) {
      setImmediate(() => {
        throw new Error(`pass-through engine crashed on purpose at invoke ${n}`);
      });
      return new Promise(() => {});
    }
    if (faults?.hangOn?.includes(n)) return new Promise(() => {});
    if (this.options.delayMs) await new Promise((resolve) => setTimeout(resolve, this.options.delayMs));
    if (faults?.failOn?.includes(n)) throw new EngineError(`pass-through engine failed on purpose at invoke ${n}`, this.device);
    checkNamedTensors(this.inputs, inputs, `pass-through engine on ${this.device}`);
    this.inputs.forEach((spec, i) => {
      const target = outputs[this.outputs[i]!.name];
      if (!target) throw new EngineError(`no buffer given for output "${this.outputs[i]!.name}"`, this.device);
      bytesOf(target).set(bytesOf(inputs[spec.name]!));
    });
  }

  async dispose(): Promise<void> {
    this.disposed = true;
  }
}
