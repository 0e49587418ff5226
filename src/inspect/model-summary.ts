/** What `coral-pipe inspect` reports about a .tflite model, computed from the codec's Model. */
import { customOperatorNames, isConstant, isEdgeTpuCompiled, operatorName, type Model, type SubGraph } from '../model/index.js';
import type { DType } from '../tensors/tensor.js';

export interface TensorSummary {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Absent for unquantized tensors; one scale/zero point per tensor, or per channel along `axis`. */
  readonly quantization?: { readonly scale: readonly number[]; readonly zeroPoint: readonly number[]; readonly axis: number };
}

export interface ModelSummary {
  readonly version: number;
  readonly description: string;
  readonly subgraphs: number;
  /** Of subgraph 0, the one that runs. */
  readonly inputs: readonly TensorSummary[];
  readonly outputs: readonly TensorSummary[];
  readonly operators: number;
  /** Operator name -> count over all subgraphs, most frequent first. */
  readonly operatorCounts: Readonly<Record<string, number>>;
  /** Bytes of constant tensor data (weights, biases), each buffer once. */
  readonly parameterBytes: number;
  /** Bytes of custom op payloads: where an Edge TPU model keeps its compiled weights. */
  readonly customOpDataBytes: number;
  readonly customOperators: readonly string[];
  readonly edgeTpuCompiled: boolean;
  readonly signatures: readonly string[];
}

export function summarizeModel(model: Model): ModelSummary {
  const main = model.subgraphs[0];
  const counts = new Map<string, number>();
  const constantBuffers = new Set<number>();
  let customOpDataBytes = 0;
  for (const subgraph of model.subgraphs) {
    for (const op of subgraph.operators) {
      const name = operatorName(model, op);
      counts.set(name, (counts.get(name) ?? 0) + 1);
      customOpDataBytes += op.customOptions?.length ?? 0;
    }
    subgraph.tensors.forEach((tensor, i) => {
      if (isConstant(model, subgraph, i)) constantBuffers.add(tensor.buffer);
    });
  }
  const tensors = (subgraph: SubGraph | undefined, which: 'inputs' | 'outputs') =>
    (subgraph?.[which] ?? []).map((i) => tensorSummary(subgraph!, i));
  return {
    version: model.version,
    description: model.description,
    subgraphs: model.subgraphs.length,
    inputs: tensors(main, 'inputs'),
    outputs: tensors(main, 'outputs'),
    operators: model.subgraphs.reduce((n, s) => n + s.operators.length, 0),
    operatorCounts: Object.fromEntries([...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))),
    parameterBytes: [...constantBuffers].reduce((n, b) => n + (model.buffers[b]?.data.length ?? 0), 0),
    customOpDataBytes,
    customOperators: customOperatorNames(model),
    edgeTpuCompiled: isEdgeTpuCompiled(model),
    signatures: model.signatureDefs.map((s) => s.signatureKey),
  };
}

function tensorSummary(subgraph: SubGraph, index: number): TensorSummary {
  const tensor = subgraph.tensors[index];
  if (!tensor) return { name: `<missing tensor ${index}>`, dtype: 'uint8', shape: [] };
  const q = tensor.quantization;
  const quantized = q?.scale !== undefined && q.scale.length > 0;
  return {
    name: tensor.name,
    dtype: tensor.type,
    shape: tensor.shape,
    ...(quantized ? { quantization: { scale: q.scale!, zeroPoint: q.zeroPoint ?? [], axis: q.quantizedDimension } } : {}),
  };
}

/** The summary as the lines `coral-pipe inspect` prints. */
export function formatSummary(s: ModelSummary): string {
  const lines = [
    `schema version ${s.version}${s.description ? `, "${s.description}"` : ''}, ${s.subgraphs} subgraph${s.subgraphs === 1 ? '' : 's'}`,
    `edge tpu compiled: ${s.edgeTpuCompiled ? 'yes' : 'no'}`,
    `custom ops: ${s.customOperators.length > 0 ? s.customOperators.join(', ') : 'none'}`,
    `parameter bytes: ${s.parameterBytes}`,
    ...(s.customOpDataBytes > 0 ? [`custom op data bytes: ${s.customOpDataBytes}`] : []),
    'inputs:',
    ...s.inputs.map(formatTensor),
    'outputs:',
    ...s.outputs.map(formatTensor),
    `operators: ${s.operators}`,
    ...Object.entries(s.operatorCounts).map(([name, n]) => `  ${String(n).padStart(5)} ${name}`),
  ];
  if (s.signatures.length > 0) lines.push(`signatures: ${s.signatures.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

function formatTensor(t: TensorSummary): string {
  const q = t.quantization;
  const quant = !q
    ? ''
    : q.scale.length === 1
      ? ` scale=${q.scale[0]} zero_point=${q.zeroPoint[0] ?? 0}`
      : ` per-channel(${q.scale.length}, axis ${q.axis})`;
  return `  ${t.name} ${t.dtype}[${t.shape.join(',')}]${quant}`;
}
