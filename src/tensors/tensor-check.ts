/** Checks tensors handed in by name against the specs they must match, naming the first offender. */
import type { NamedTensors, TensorData, TensorSpec } from './tensor.js';
import { matchesDType } from './dtype.js';

export class TensorInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TensorInputError';
  }
}

/** Throws TensorInputError for a missing, extra, wrongly typed or wrongly sized tensor. */
export function checkNamedTensors(specs: readonly TensorSpec[], tensors: NamedTensors, where: string): void {
  for (const spec of specs) {
    const data: TensorData | undefined = tensors[spec.name];
    if (data === undefined) throw new TensorInputError(`${where}: missing input tensor "${spec.name}"`);
    if (!ArrayBuffer.isView(data) || !matchesDType(spec.dtype, data)) {
      const got = (data as object | null)?.constructor?.name ?? typeof data;
      throw new TensorInputError(`${where}: tensor "${spec.name}" is ${spec.dtype} but was given a ${got}`);
    }
    if (data.byteLength !== spec.byteSize) {
      throw new TensorInputError(
        `${where}: tensor "${spec.name}" needs ${spec.byteSize} bytes (${spec.dtype}[${spec.shape.join('x')}]) but was given ${data.byteLength}`,
      );
    }
  }
  if (Object.keys(tensors).length !== specs.length) {
    const known = new Set(specs.map((s) => s.name));
    const extra = Object.keys(tensors).find((name) => !known.has(name));
    throw new TensorInputError(`${where}: unknown input tensor "${extra}"; expected ${specs.map((s) => `"${s.name}"`).join(', ')}`);
  }
}
