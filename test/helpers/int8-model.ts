/**
 * int8 models made from uint8 ones, for the CPU engine (LiteRT.js's own Tensor class refuses int8)
 * and for segmenting int8 models.
 */
import { BUILTIN_OPERATORS, readModel, writeModel, type Buffer, type Model, type Tensor } from '../../src/model/index.js';

/** `tensor` as int8 with the same real values: zero point moved down by 128 (data untouched). */
function asInt8(tensor: Tensor): Tensor {
  const q = tensor.quantization;
  return {
    ...tensor,
    type: 'int8',
    ...(q ? { quantization: { ...q, ...(q.zeroPoint ? { zeroPoint: q.zeroPoint.map((z) => z - 128) } : {}) } } : {}),
  };
}

/**
 * An int8 model made from a uint8 one: every uint8 tensor becomes int8 with its zero point and its
 * constant values moved down by 128. The real values, q - zero point, are unchanged, so the int8 model
 * means what the uint8 one does. (LiteRT's int8 convolutions want symmetric weights, so it cannot
 * allocate such a mobilenet: "failed to prepare", "Failed to allocate tensors".)
 */
export function toInt8Model(model: Model): Model {
  const shifted = new Set<number>();
  const subgraphs = model.subgraphs.map((subgraph) => ({
    ...subgraph,
    tensors: subgraph.tensors.map((tensor): Tensor => {
      if (tensor.type !== 'uint8') return tensor;
      if (model.buffers[tensor.buffer]!.data.length > 0) shifted.add(tensor.buffer);
      return asInt8(tensor);
    }),
  }));
  const buffers = model.buffers.map((buffer, i): Buffer => {
    if (!shifted.has(i)) return buffer;
    // uint8 v -> int8 v - 128 is flipping the top bit of each byte.
    return { ...buffer, data: buffer.data.map((byte) => byte ^ 0x80) };
  });
  return { ...model, subgraphs, buffers };
}

/** `toInt8Model` on file bytes. */
export function int8Everywhere(bytes: Uint8Array): Uint8Array {
  return writeModel(toInt8Model(readModel(bytes)));
}

/**
 * The model with an int8 input and output around its unchanged uint8 graph: QUANTIZE ops requantize
 * int8 -> uint8 in front and uint8 -> int8 behind. Equal scales and zero points 128 apart make both
 * exact, so its output must equal the uint8 model's output minus 128 for the input minus 128.
 */
export function int8AtBoundary(bytes: Uint8Array): Uint8Array {
  const model = readModel(bytes);
  const [main, ...rest] = model.subgraphs;
  const quantize = BUILTIN_OPERATORS.indexOf('QUANTIZE');
  const opcodeIndex = model.operatorCodes.length;
  const tensors = [...main!.tensors];
  const boundary = (i: number) => tensors.push({ ...asInt8(tensors[i]!), name: `${tensors[i]!.name}_int8`, buffer: 0 }) - 1;
  const op = (input: number, output: number) => ({ opcodeIndex, inputs: [input], outputs: [output], intermediates: [], customOptionsFormat: 0 });
  const inputs = main!.inputs.map(boundary);
  const outputs = main!.outputs.map(boundary);
  const operators = [
    ...main!.inputs.map((i, k) => op(inputs[k]!, i)),
    ...main!.operators,
    ...main!.outputs.map((o, k) => op(o, outputs[k]!)),
  ];
  return writeModel({
    ...model,
    operatorCodes: [...model.operatorCodes, { builtinCode: quantize, deprecatedBuiltinCode: quantize, version: 1 }],
    subgraphs: [{ ...main!, tensors, operators, inputs, outputs }, ...rest],
  });
}
