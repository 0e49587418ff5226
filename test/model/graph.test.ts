import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ModelFormatError, activationBytes, consumers, customOperatorNames, isConstant, isEdgeTpuCompiled, operatorName,
  parameterBytes, producers, readModel, topologicalOrder, type Model, type SubGraph,
} from '../../src/model/index.js';
import { allModelFiles, modelBytes } from '../helpers/model-files.js';

const load = (file: string) => readModel(modelBytes(file));

/** Every input made by an operator is made before the operator runs, in `order`. */
function assertValidOrder(subgraph: SubGraph, order: readonly number[], label: string): void {
  assert.deepEqual([...order].sort((a, b) => a - b), subgraph.operators.map((_, i) => i), `${label}: a permutation`);
  const made = new Set<number>();
  const madeBySomeone = new Set(subgraph.operators.flatMap((op) => op.outputs));
  for (const i of order) {
    for (const t of subgraph.operators[i].inputs) {
      if (t >= 0 && madeBySomeone.has(t)) assert.ok(made.has(t), `${label}: op ${i} reads tensor ${t} before it is made`);
    }
    for (const t of subgraph.operators[i].outputs) made.add(t);
  }
}

describe('topologicalOrder', () => {
  for (const file of allModelFiles()) {
    it(`${file}: valid, and the converter's own order is kept`, () => {
      const model = load(file);
      for (const [s, subgraph] of model.subgraphs.entries()) {
        const order = topologicalOrder(subgraph);
        assertValidOrder(subgraph, order, `${file} subgraph ${s}`);
        // Converters store operators in execution order; stable tie-breaking must keep it.
        assert.deepEqual(order, subgraph.operators.map((_, i) => i));
      }
    });
  }

  it('restores a valid order when the operators are stored reversed', () => {
    for (const file of ['models/mobilenet_v2_1.0_224_quant.tflite', 'models/deeplabv3_mnv2_dm05_pascal_quant.tflite', 'models/split_concat.tflite']) {
      const subgraph = load(file).subgraphs[0];
      const reversed: SubGraph = { ...subgraph, operators: [...subgraph.operators].reverse() };
      const order = topologicalOrder(reversed);
      assertValidOrder(reversed, order, file);
      if (file.includes('mobilenet_v2')) {
        // A chain: the only valid order is the original one, i.e. the reversed indices.
        assert.deepEqual(order, reversed.operators.map((_, i) => reversed.operators.length - 1 - i));
      }
    }
  });

  it('breaks ties by operator index', () => {
    // Diamond: 0 -> (1, 2) -> 3, stored as [3, 2, 1, 0] by tensor: op k writes tensor k+1.
    const op = (inputs: number[], outputs: number[]) => ({ opcodeIndex: 0, inputs, outputs, intermediates: [], customOptionsFormat: 0 });
    const subgraph: SubGraph = {
      name: 'diamond', tensors: [], inputs: [], outputs: [],
      operators: [op([2, 3], [4]), op([1], [3]), op([1], [2]), op([0], [1]), op([0], [5])],
    };
    assert.deepEqual(topologicalOrder(subgraph), [3, 1, 2, 0, 4]);
  });

  it('a cycle is a ModelFormatError', () => {
    const op = (inputs: number[], outputs: number[]) => ({ opcodeIndex: 0, inputs, outputs, intermediates: [], customOptionsFormat: 0 });
    const subgraph: SubGraph = { name: 'loop', tensors: [], inputs: [], outputs: [], operators: [op([0], [3]), op([3, 2], [1]), op([1], [2])] };
    assert.throws(() => topologicalOrder(subgraph), (e: unknown) => e instanceof ModelFormatError && /cycle/.test(e.problem) && /loop\.operators/.test(e.where));
  });
});

describe('producers and consumers', () => {
  it('split_concat: graph inputs have no producer, every output has one, consumers are readers', () => {
    const model = load('models/split_concat.tflite');
    const sg = model.subgraphs[0];
    const made = producers(sg);
    const read = consumers(sg);
    for (const t of sg.inputs) {
      assert.equal(made.get(t), undefined);
      assert.ok((read.get(t) ?? []).length > 0);
    }
    for (const t of sg.outputs) {
      const p = made.get(t);
      assert.ok(p !== undefined);
      assert.ok(sg.operators[p].outputs.includes(t));
    }
    for (const [t, ops] of read) for (const i of ops) assert.ok(sg.operators[i].inputs.includes(t));
  });

  it('mobilenet_v2: each residual ADD reads a tensor that another op also reads (a skip connection)', () => {
    const model = load('models/mobilenet_v2_1.0_224_quant.tflite');
    const sg = model.subgraphs[0];
    const read = consumers(sg);
    const adds = sg.operators.map((op, i) => [op, i] as const).filter(([op]) => operatorName(model, op) === 'ADD');
    assert.equal(adds.length, 10); // MobileNetV2 has 10 residual blocks
    for (const [op, i] of adds) assert.ok(op.inputs.some((t) => (read.get(t) ?? []).some((j) => j !== i)));
  });
});

describe('custom operators', () => {
  it('names and Edge TPU detection', () => {
    assert.deepEqual(customOperatorNames(load('models/model_invoking_error.tflite')), ['fake-op-double']);
    assert.deepEqual(customOperatorNames(load('models/mobilenet_v2_1.0_224_quant.tflite')), []);
    for (const file of allModelFiles()) {
      assert.equal(isEdgeTpuCompiled(load(file)), file.endsWith('_edgetpu.tflite'), file);
    }
    assert.equal(isEdgeTpuCompiled(load('models/model_invoking_error.tflite')), false);
  });
});

/** Independent sum: for each builtin op, each distinct constant tensor it reads, by its buffer's size
 * (a constant two ops read counts for both, as each op needs it). */
function constantBytesReadByBuiltins(model: Model, sg: SubGraph): number {
  const outputs = new Set(sg.operators.flatMap((op) => op.outputs));
  let bytes = 0;
  for (const op of sg.operators) {
    if (model.operatorCodes[op.opcodeIndex].customCode !== undefined) continue;
    const seen = new Set<number>();
    for (const t of op.inputs) {
      if (t < 0 || outputs.has(t) || seen.has(t)) continue;
      const data = model.buffers[sg.tensors[t].buffer]?.data;
      if (data && data.length > 0) {
        seen.add(t);
        bytes += data.length;
      }
    }
  }
  return bytes;
}

describe('constants, parameter and activation bytes', () => {
  it('mobilenet_v2 first conv: 3x3x3x32 uint8 weights + 32 int32 biases; 224x224x3 in, 112x112x32 out', () => {
    const model = load('models/mobilenet_v2_1.0_224_quant.tflite');
    const sg = model.subgraphs[0];
    const conv = sg.operators[0];
    assert.equal(isConstant(model, sg, conv.inputs[0]), false);
    assert.equal(isConstant(model, sg, conv.inputs[1]), true);
    assert.equal(isConstant(model, sg, conv.inputs[2]), true);
    assert.equal(isConstant(model, sg, conv.outputs[0]), false);
    assert.equal(parameterBytes(model, sg, 0), 3 * 3 * 3 * 32 + 32 * 4);
    assert.equal(activationBytes(model, sg, 0), 224 * 224 * 3 + 112 * 112 * 32);
  });

  for (const file of allModelFiles()) {
    it(`${file}: parameter bytes of all ops sum to the constant data they read`, () => {
      const model = load(file);
      for (const sg of model.subgraphs) {
        const total = sg.operators.reduce((n, _, i) => n + parameterBytes(model, sg, i), 0);
        assert.equal(total, constantBytesReadByBuiltins(model, sg));
        for (const [i, op] of sg.operators.entries()) {
          if (model.operatorCodes[op.opcodeIndex].customCode !== undefined) assert.equal(parameterBytes(model, sg, i), 0);
          assert.ok(activationBytes(model, sg, i) >= 0);
        }
      }
    });
  }

  it('deeplab: the resize size constant two RESIZE_BILINEAR ops share counts for each', () => {
    const model = load('models/deeplabv3_mnv2_dm05_pascal_quant.tflite');
    const sg = model.subgraphs[0];
    const shared = sg.tensors.findIndex((t) => t.name === 'ResizeBilinear/size');
    assert.equal(isConstant(model, sg, shared), true);
    const readers = consumers(sg).get(shared) ?? [];
    assert.equal(readers.length, 2);
    // The size is two int32s; the other input is the image, not a constant.
    for (const i of readers) {
      assert.equal(operatorName(model, sg.operators[i]), 'RESIZE_BILINEAR');
      assert.equal(parameterBytes(model, sg, i), 8);
    }
  });

  it('mobilenet_v2 weights: the parameter bytes are most of the file', () => {
    const bytes = modelBytes('models/mobilenet_v2_1.0_224_quant.tflite');
    const model = readModel(bytes);
    const sg = model.subgraphs[0];
    const total = sg.operators.reduce((n, _, i) => n + parameterBytes(model, sg, i), 0);
    // 3.5 M parameters, mostly uint8 weights: about 3.4 MB of the 3.6 MB file.
    assert.ok(total > 3_300_000 && total < bytes.length, String(total));
  });
});
