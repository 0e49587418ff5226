/**
 * An int8 model made from a uint8 one: every uint8 tensor becomes int8 with its zero point and its
 * constant values moved down by 128. The real values, q - zero point, are unchanged, so the int8 model
 * computes what the uint8 one does and its outputs are the uint8 outputs minus 128.
 */
import type { Buffer, Model, Tensor } from '../../src/model/index.js';

export function toInt8Model(model: Model): Model {
  const shifted = new Set<number>();
  const subgraphs = model.subgraphs.map((subgraph) => ({
    ...subgraph,
    tensors: subgraph.tensors.map((tensor): Tensor => {
      if (tensor.type !== 'uint8') return tensor;
      if (model.buffers[tensor.buffer]!.data.length > 0) shifted.add(tensor.buffer);
      const q = tensor.quantization;
      return {
        ...tensor,
        type: 'int8',
        ...(q ? { quantization: { ...q, ...(q.zeroPoint ? { zeroPoint: q.zeroPoint.map((z) => z - 128) } : {}) } } : {}),
      };
    }),
  }));
  const buffers = model.buffers.map((buffer, i): Buffer => {
    if (!shifted.has(i)) return buffer;
    // uint8 v -> int8 v - 128 is flipping the top bit of each byte.
    return { ...buffer, data: buffer.data.map((byte) => byte ^ 0x80) };
  });
  return { ...model, subgraphs, buffers };
}
