import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FlatbufferReader } from '../../src/model/flatbuffer-reader.js';
import { TABLES, UNIONS } from '../../src/model/schema.js';
import {
  BUILTIN_OPERATORS, ModelFormatError, TENSOR_TYPES, operatorName, readModel, writeModel,
  type Model, type UnionValue,
} from '../../src/model/index.js';
import { allModelFiles, modelBytes } from '../helpers/model-files.js';

const codeOf = (name: string) => BUILTIN_OPERATORS.indexOf(name);

function expectFormatError(fn: () => unknown, whereMatch: RegExp, problemMatch?: RegExp): ModelFormatError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof ModelFormatError, `expected ModelFormatError, got ${String(caught)}`);
  assert.match(caught.where, whereMatch);
  if (problemMatch) assert.match(caught.problem, problemMatch);
  assert.ok(caught.message.includes(caught.where));
  return caught;
}

/** A copy of `bytes` in a fresh ArrayBuffer, so data offsets in it are file offsets. */
const fresh = (bytes: Uint8Array) => new Uint8Array(bytes);

describe('round trip', () => {
  for (const file of allModelFiles()) {
    it(`${file}: readModel(writeModel(m)) deep-equals m`, () => {
      const model = readModel(modelBytes(file));
      const written = writeModel(model);
      const again = readModel(fresh(written));
      assert.deepStrictEqual(again, model);
      // The writer is deterministic: writing the re-read model gives the same bytes.
      assert.deepStrictEqual(writeModel(again), written);
      // Constant data starts on 16-byte boundaries of the written file, as TFLite expects.
      for (const [i, buffer] of again.buffers.entries()) {
        if (buffer.data.length > 0) assert.equal(buffer.data.byteOffset % 16, 0, `buffers[${i}]`);
      }
    });
  }
});

describe('schema transcription', () => {
  it('enum codes match the TFLite schema', () => {
    assert.equal(BUILTIN_OPERATORS.length, 210);
    const expected: Record<string, number> = {
      ADD: 0, CONV_2D: 3, CUSTOM: 32, ARG_MAX: 56, BATCH_MATMUL: 126, PLACEHOLDER_FOR_GREATER_OP_CODES: 127,
      CUMSUM: 128, GELU: 150, STABLEHLO_COMPOSITE: 206, STABLEHLO_CASE: 209,
    };
    for (const [name, code] of Object.entries(expected)) assert.equal(BUILTIN_OPERATORS[code], name);
    assert.deepEqual([TENSOR_TYPES[0], TENSOR_TYPES[3], TENSOR_TYPES[4], TENSOR_TYPES[9], TENSOR_TYPES[18]], ['FLOAT32', 'UINT8', 'INT64', 'INT8', 'BFLOAT16']);
  });

  it('union member codes and field ids match the schema', () => {
    assert.equal(UNIONS.BuiltinOptions[1], 'Conv2DOptions');
    assert.equal(UNIONS.BuiltinOptions[40], 'ArgMaxOptions');
    assert.equal(UNIONS.BuiltinOptions.length - 1, 126); // RightShiftOptions is the last
    assert.equal(UNIONS.BuiltinOptions2[21], 'StableHLOCompositeOptions');
    const slots = (table: string) => Object.fromEntries(TABLES[table].fields.map((f) => [f.name, f.slot]));
    // Unions take two ids (type byte, then value).
    assert.deepEqual(slots('Operator'), {
      opcodeIndex: 0, inputs: 1, outputs: 2, builtinOptions: 4, customOptions: 5, customOptionsFormat: 6,
      mutatingVariableInputs: 7, intermediates: 8, largeCustomOptionsOffset: 9, largeCustomOptionsSize: 10,
      builtinOptions2: 12, debugMetadataIndex: 13,
    });
    assert.equal(slots('Tensor').hasRank, 8);
    assert.equal(slots('Buffer').offset, 1);
    assert.equal(slots('SignatureDef').subgraphIndex, 4); // after the deprecated tag
  });
});

describe('facts of the real models', () => {
  it('mobilenet_v2_1.0_224_quant: uint8 input [1,224,224,3], softmax output [1,1001], quantization', () => {
    const model = readModel(modelBytes('models/mobilenet_v2_1.0_224_quant.tflite'));
    const sg = model.subgraphs[0];
    assert.equal(model.version, 3);
    assert.equal(sg.inputs.length, 1);
    assert.equal(sg.outputs.length, 1);
    const input = sg.tensors[sg.inputs[0]];
    const output = sg.tensors[sg.outputs[0]];
    assert.equal(input.name, 'input');
    assert.equal(input.type, 'uint8');
    assert.deepEqual(input.shape, [1, 224, 224, 3]);
    // Inputs map [0, 255] to [-1, 1): scale 1/128, zero point 128; softmax output scale 1/256.
    assert.deepEqual(input.quantization?.scale, [1 / 128]);
    assert.deepEqual(input.quantization?.zeroPoint, [128]);
    assert.equal(output.name, 'MobilenetV2/Predictions/Softmax');
    assert.equal(output.type, 'uint8');
    assert.deepEqual(output.shape, [1, 1001]);
    assert.deepEqual(output.quantization?.scale, [1 / 256]);
    assert.deepEqual(output.quantization?.zeroPoint, [0]);
    // The first layer is a 3x3, stride-2 convolution to 32 channels with ReLU6.
    const first = sg.operators[0];
    assert.equal(operatorName(model, first), 'CONV_2D');
    assert.equal(first.builtinOptions?.type, 'Conv2DOptions');
    assert.equal(first.builtinOptions?.fields.strideW, 2);
    assert.equal(first.builtinOptions?.fields.strideH, 2);
    assert.equal(first.builtinOptions?.fields.fusedActivationFunction, 3); // RELU6
    assert.deepEqual(sg.tensors[first.inputs[1]].shape, [32, 3, 3, 3]);
    assert.equal(operatorName(model, sg.operators[sg.operators.length - 1]), 'SOFTMAX');
  });

  it('the edgetpu models and segments hold edgetpu-custom-op with its compiled payload', () => {
    const files = allModelFiles().filter((f) => f.endsWith('_edgetpu.tflite'));
    assert.ok(files.length >= 9);
    for (const file of files) {
      const model = readModel(modelBytes(file));
      const ops = model.subgraphs[0].operators.filter((op) => operatorName(model, op) === 'edgetpu-custom-op');
      assert.ok(ops.length >= 1, file);
      const code = model.operatorCodes[ops[0].opcodeIndex];
      assert.equal(code.builtinCode, codeOf('CUSTOM'));
      assert.ok((ops[0].customOptions?.length ?? 0) > 1000, `${file}: compiled payload in custom options`);
    }
  });

  it('each builtin op carries the options table of its kind (union codes transcribed right)', () => {
    const expected: Record<string, string> = {
      CONV_2D: 'Conv2DOptions', DEPTHWISE_CONV_2D: 'DepthwiseConv2DOptions', AVERAGE_POOL_2D: 'Pool2DOptions',
      ADD: 'AddOptions', SOFTMAX: 'SoftmaxOptions', CONCATENATION: 'ConcatenationOptions',
      SPLIT: 'SplitOptions', RESIZE_BILINEAR: 'ResizeBilinearOptions', ARG_MAX: 'ArgMaxOptions',
      FULLY_CONNECTED: 'FullyConnectedOptions', UNIDIRECTIONAL_SEQUENCE_LSTM: 'UnidirectionalSequenceLSTMOptions',
    };
    const seen = new Set<string>();
    for (const file of allModelFiles()) {
      const model = readModel(modelBytes(file));
      for (const op of model.subgraphs.flatMap((s) => s.operators)) {
        const name = operatorName(model, op);
        if (op.builtinOptions && expected[name]) {
          assert.equal(op.builtinOptions.type, expected[name], `${file}: ${name}`);
          seen.add(name);
        }
      }
    }
    assert.deepEqual([...seen].sort(), Object.keys(expected).sort());
  });

  it('split_concat has 3 inputs and 5 outputs', () => {
    for (const file of ['models/split_concat.tflite', 'models/split_concat_edgetpu.tflite']) {
      const sg = readModel(modelBytes(file)).subgraphs[0];
      assert.equal(sg.inputs.length, 3, file);
      assert.equal(sg.outputs.length, 5, file);
      assert.deepEqual(sg.inputs.map((i) => sg.tensors[i].name), ['input1', 'inputs/rnn1', 'inputs/rnn2']);
    }
  });

  it('deeplab ends in ARG_MAX with an int64 output', () => {
    const model = readModel(modelBytes('models/deeplabv3_mnv2_dm05_pascal_quant.tflite'));
    const sg = model.subgraphs[0];
    const argmax = sg.operators.filter((op) => operatorName(model, op) === 'ARG_MAX');
    assert.equal(argmax.length, 1);
    assert.equal(argmax[0].builtinOptions?.type, 'ArgMaxOptions');
    assert.equal(argmax[0].builtinOptions?.fields.outputType, 4); // TensorType INT64
    const out = sg.tensors[argmax[0].outputs[0]];
    assert.equal(out.type, 'int64');
    assert.deepEqual(sg.outputs, argmax[0].outputs);
    assert.deepEqual(sg.tensors[sg.inputs[0]].shape, [1, 513, 513, 3]);
  });

  it('keras LSTM: int8 weights, omitted optional inputs (-1) and intermediates survive', () => {
    const bytes = modelBytes('models/keras_lstm_mnist_ptq.tflite');
    const model = readModel(bytes);
    const sg = model.subgraphs[0];
    const lstm = sg.operators.find((op) => operatorName(model, op) === 'UNIDIRECTIONAL_SEQUENCE_LSTM');
    assert.ok(lstm);
    assert.equal(lstm.inputs.length, 24);
    assert.ok(lstm.inputs.includes(-1));
    assert.ok(lstm.intermediates.length > 0);
    assert.ok(sg.tensors.some((t) => t.type === 'int8'));
    assert.equal(model.signatureDefs[0].signatureKey, 'serving_default');
    const again = readModel(writeModel(model)).subgraphs[0].operators[sg.operators.indexOf(lstm)];
    assert.deepEqual(again.inputs, lstm.inputs);
    assert.deepEqual(again.intermediates, lstm.intermediates);
  });

  it('model_invoking_error holds the custom op fake-op-double and no buffers', () => {
    const model = readModel(modelBytes('models/model_invoking_error.tflite'));
    assert.deepEqual(model.operatorCodes.map((c) => c.customCode), ['fake-op-double']);
    assert.equal(model.buffers.length, 0);
  });

  it('metadata and min_runtime_version survive', () => {
    const model = readModel(modelBytes('models/mobilenet_v1_0.25_128_quant.tflite'));
    const names = model.metadata.map((m) => m.name);
    assert.ok(names.includes('min_runtime_version'));
    const version = model.metadata.find((m) => m.name === 'min_runtime_version')!;
    assert.match(new TextDecoder().decode(model.buffers[version.buffer].data), /^\d+\.\d+/);
  });

  it('the associated-files zip TFLite Metadata appends after the flatbuffer survives a rewrite', () => {
    const bytes = modelBytes('models/mobilenet_v2_1.0_224_quant.tflite');
    const zip = readModel(bytes).trailingData;
    assert.ok(zip);
    assert.deepEqual([...zip.subarray(0, 4)], [0x50, 0x4b, 0x03, 0x04]); // "PK\3\4", a zip local header
    assert.ok(new TextDecoder().decode(zip).includes('imagenet_labels.txt'));
    assert.deepEqual(bytes.subarray(bytes.length - zip.length), zip);
    const written = writeModel(readModel(bytes));
    assert.deepEqual(written.subarray(written.length - zip.length), zip);
  });

  it('buffer data is a view into the input, not a copy', () => {
    const bytes = modelBytes('models/mobilenet_v2_1.0_224_quant.tflite');
    const model = readModel(bytes);
    const big = model.buffers.reduce((a, b) => (b.data.length > a.data.length ? b : a));
    assert.equal(big.data.buffer, bytes.buffer);
  });
});

/** A small model built in code: per-channel quantization, an options table, -1 inputs. */
function syntheticModel(): Model {
  const weights = new Uint8Array(3 * 2 * 2 * 1).map((_, i) => i * 7);
  return {
    version: 3,
    description: 'synthetic',
    operatorCodes: [{ builtinCode: codeOf('CONV_2D'), deprecatedBuiltinCode: codeOf('CONV_2D'), version: 3 }],
    subgraphs: [{
      name: 'main',
      tensors: [
        { name: 'in', type: 'int8', shape: [1, 4, 4, 1], buffer: 0, isVariable: false, hasRank: true,
          quantization: { scale: [0.5], zeroPoint: [-3], quantizedDimension: 0 } },
        { name: 'w', type: 'int8', shape: [3, 2, 2, 1], buffer: 1, isVariable: false, hasRank: true,
          quantization: { scale: [Math.fround(0.1), 0.25, 0.03125], zeroPoint: [0, 0, 0], quantizedDimension: 0 } },
        { name: 'out', type: 'int8', shape: [1, 3, 3, 3], shapeSignature: [-1, 3, 3, 3], buffer: 0,
          isVariable: false, hasRank: true, quantization: { scale: [0.75], zeroPoint: [1], quantizedDimension: 0 } },
      ],
      inputs: [0],
      outputs: [2],
      operators: [{
        opcodeIndex: 0, inputs: [0, 1, -1], outputs: [2], intermediates: [], customOptionsFormat: 0,
        builtinOptions: { type: 'Conv2DOptions', fields: {
          padding: 1, strideW: 1, strideH: 1, fusedActivationFunction: 0, dilationWFactor: 1, dilationHFactor: 1,
          quantizedBiasType: 0,
        } },
      }],
    }],
    buffers: [{ data: new Uint8Array(0) }, { data: weights }],
    metadata: [],
    signatureDefs: [],
    metadataBuffer: [],
  };
}

describe('models built in code', () => {
  it('per-channel quantization, shape signatures and -1 inputs round-trip', () => {
    const model = syntheticModel();
    const again = readModel(writeModel(model));
    assert.deepEqual(again, model);
    assert.equal(again.subgraphs[0].tensors[1].quantization?.scale?.length, 3);
  });

  it('the offset/size (over 2 GB) form: buffers and custom options after the flatbuffer round-trip', () => {
    const base = readModel(modelBytes('models/mobilenet_v1_0.25_128_quant_edgetpu.tflite'));
    const model: Model = {
      ...base,
      buffers: base.buffers.map((b) => (b.data.length > 0 ? { data: b.data, external: true } : b)),
      subgraphs: base.subgraphs.map((s) => ({
        ...s,
        operators: s.operators.map((op) => ({ ...op, largeCustomOptions: true })),
      })),
    };
    const written = fresh(writeModel(model));
    const again = readModel(written);
    assert.deepEqual(again, model);
    // Read the raw Buffer and Operator tables: the data really lies outside the flatbuffer.
    const reader = new FlatbufferReader(written);
    const raw = reader.table(reader.follow(0, 'root'), 'Model', '');
    const rawBuffers = raw.buffers as { data?: Uint8Array; offset: bigint; size: bigint }[];
    const external = rawBuffers.filter((b) => b.offset > 1n);
    assert.equal(external.length, base.buffers.filter((b) => b.data.length > 0).length);
    for (const b of external) {
      assert.equal(b.data, undefined);
      assert.equal(b.offset % 16n, 0n);
      assert.ok(b.offset + b.size <= BigInt(written.length));
    }
    const rawOp = ((raw.subgraphs as { operators: Record<string, unknown>[] }[])[0].operators)[0];
    assert.equal(rawOp.customOptions, undefined);
    assert.ok((rawOp.largeCustomOptionsOffset as bigint) > 1n);
    assert.equal(rawOp.largeCustomOptionsSize, BigInt(base.subgraphs[0].operators[0].customOptions!.length));
    // And back to the ordinary form.
    const inline: Model = { ...again, buffers: again.buffers.map((b) => ({ data: b.data })),
      subgraphs: again.subgraphs.map((s) => ({ ...s, operators: s.operators.map(({ largeCustomOptions: _, ...op }) => op) })) };
    assert.deepEqual(readModel(writeModel(inline)), base);
  });

  it('options of every builtin_options member table round-trip', () => {
    const model = syntheticModel();
    const op = model.subgraphs[0].operators[0];
    const options: UnionValue[] = [
      { type: 'StridedSliceOptions', fields: { beginMask: 5, endMask: 2, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 1, offset: true } },
      { type: 'ReshapeOptions', fields: { newShape: [1, -1, 3] } },
      { type: 'VarHandleOptions', fields: { container: 'c', sharedName: 'v' } },
      { type: 'RandomOptions', fields: { seed: 1n << 40n, seed2: -7n } },
      { type: 'BucketizeOptions', fields: { boundaries: [0.5, 1.5] } },
      { type: 'AddOptions', fields: { fusedActivationFunction: 1, potScaleInt16: false } },
    ];
    for (const builtinOptions of options) {
      const m = { ...model, subgraphs: [{ ...model.subgraphs[0], operators: [{ ...op, builtinOptions }] }] };
      assert.deepEqual(readModel(writeModel(m)).subgraphs[0].operators[0].builtinOptions, builtinOptions);
    }
    const builtinOptions2 = { type: 'StableHLOCompositeOptions', fields: {
      name: 'odml.rms_norm', decompositionSubgraphIndex: 0, compositeAttributes: new Uint8Array([1, 2, 3]),
      compositeAttributesFormat: 0, version: 2 } };
    const m2 = { ...model, subgraphs: [{ ...model.subgraphs[0], operators: [{ ...op, builtinOptions2 }] }] };
    assert.deepEqual(readModel(writeModel(m2)).subgraphs[0].operators[0].builtinOptions2, builtinOptions2);
  });
});

/** Little-endian helpers for building bad files by hand. */
const u32At = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset).getUint32(at, true);
const putU32 = (b: Uint8Array, at: number, v: number) => new DataView(b.buffer, b.byteOffset).setUint32(at, v, true);
const putI32 = (b: Uint8Array, at: number, v: number) => new DataView(b.buffer, b.byteOffset).setInt32(at, v, true);

describe('bad files', () => {
  it('zero-length and tiny files', () => {
    expectFormatError(() => readModel(new Uint8Array(0)), /byte 0/, /too short/);
    expectFormatError(() => readModel(new Uint8Array(7)), /byte 0/, /too short/);
  });

  it('wrong file identifier', () => {
    const bytes = fresh(modelBytes('models/split_concat.tflite'));
    bytes.set([0x54, 0x46, 0x4c, 0x32], 4); // "TFL2"
    expectFormatError(() => readModel(bytes), /byte 4/, /"TFL2"/);
  });

  it('truncated files name the field that runs past the end', () => {
    const bytes = modelBytes('models/mobilenet_v2_1.0_224_quant.tflite');
    const zip = readModel(bytes).trailingData!.length;
    for (const length of [8, 64, 1000, bytes.length >> 1, bytes.length - zip - 1]) {
      const error = expectFormatError(() => readModel(bytes.subarray(0, length)), /./, /outside|past|too short/);
      assert.match(error.problem, new RegExp(`${length}-byte file`));
    }
  });

  it('random bytes', () => {
    let seed = 12345;
    const next = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    for (let n = 0; n < 50; n++) {
      const bytes = new Uint8Array(16 + n * 37).map(next);
      bytes.set([0x54, 0x46, 0x4c, 0x33], 4); // a correct identifier, so the structure itself is tested
      expectFormatError(() => readModel(bytes), /./);
    }
  });

  it('root offset pointing outside the file', () => {
    const bytes = fresh(modelBytes('models/split_concat.tflite'));
    putU32(bytes, 0, bytes.length + 100);
    expectFormatError(() => readModel(bytes), /^root$/, /outside/);
  });

  it('vtable pointing outside the file', () => {
    const bytes = fresh(modelBytes('models/split_concat.tflite'));
    const root = u32At(bytes, 0);
    putI32(bytes, root, -bytes.length * 2); // vtable = root - soffset, far past the end
    expectFormatError(() => readModel(bytes), /^root Model table$/, /vtable of Model/);
  });

  it('a vector whose length runs past the end of the file', () => {
    // Model.subgraphs is field 2; find its vector and claim 2^30 elements.
    const bytes = fresh(modelBytes('models/split_concat.tflite'));
    const reader = new FlatbufferReader(bytes);
    const root = reader.follow(0, 'root');
    const vtable = root - new DataView(bytes.buffer).getInt32(root, true);
    const fieldOffset = new DataView(bytes.buffer).getUint16(vtable + 4 + 2 * 2, true);
    const vector = reader.follow(root + fieldOffset, 'x');
    putU32(bytes, vector, 1 << 30);
    expectFormatError(() => readModel(bytes), /^subgraphs$/, /vector of 1073741824 elements/);
  });

  it('tensor, buffer and operator code indices out of range', () => {
    const model = syntheticModel();
    const sg = model.subgraphs[0];
    const op = sg.operators[0];
    const withOp = (o: object) => ({ ...model, subgraphs: [{ ...sg, operators: [{ ...op, ...o }] }] });
    expectFormatError(() => readModel(writeModel(withOp({ inputs: [0, 99, -1] }))), /^subgraphs\[0\]\.operators\[0\]\.inputs\[1\]$/, /tensor index 99/);
    expectFormatError(() => readModel(writeModel(withOp({ outputs: [-2] }))), /^subgraphs\[0\]\.operators\[0\]\.outputs\[0\]$/);
    expectFormatError(() => readModel(writeModel(withOp({ opcodeIndex: 4 }))), /^subgraphs\[0\]\.operators\[0\]\.opcodeIndex$/);
    const badTensor = { ...model, subgraphs: [{ ...sg, tensors: sg.tensors.map((t, i) => (i === 1 ? { ...t, buffer: 12 } : t)) }] };
    expectFormatError(() => readModel(writeModel(badTensor)), /^subgraphs\[0\]\.tensors\[1\]\.buffer$/, /buffer index 12/);
    const badInputs = { ...model, subgraphs: [{ ...sg, inputs: [3] }] };
    expectFormatError(() => readModel(writeModel(badInputs)), /^subgraphs\[0\]\.inputs\[0\]$/);
  });

  it('an unknown builtin_options type (a newer schema) is refused, not dropped', () => {
    const bytes = fresh(writeModel(syntheticModel()));
    // Find the operator's builtin_options_type byte (field id 3) and set a code past the schema.
    const reader = new FlatbufferReader(bytes);
    const dv = new DataView(bytes.buffer);
    const tableAt = (pos: number) => pos - dv.getInt32(pos, true);
    const field = (table: number, id: number) => table + dv.getUint16(tableAt(table) + 4 + 2 * id, true);
    const root = reader.follow(0, 'root');
    const subgraphs = reader.follow(field(root, 2), 'x');
    const subgraph = reader.follow(subgraphs + 4, 'x');
    const operators = reader.follow(field(subgraph, 3), 'x');
    const operator = reader.follow(operators + 4, 'x');
    bytes[field(operator, 3)] = 250;
    expectFormatError(() => readModel(bytes), /^subgraphs\[0\]\.operators\[0\]\.builtinOptions$/, /type code 250 is unknown/);
  });

  it('buffer data said to lie after the flatbuffer but past the end of the file', () => {
    const model = { ...syntheticModel(), buffers: [{ data: new Uint8Array(0) }, { data: new Uint8Array(12), external: true }] };
    const bytes = writeModel(model);
    expectFormatError(() => readModel(bytes.subarray(0, bytes.length - 8)), /^buffers\[1\]$/, /outside/);
  });

  it('an unsupported tensor type names the tensor', () => {
    const bytes = fresh(writeModel(syntheticModel()));
    const dv = new DataView(bytes.buffer);
    const reader = new FlatbufferReader(bytes);
    const tableAt = (pos: number) => pos - dv.getInt32(pos, true);
    const field = (table: number, id: number) => table + dv.getUint16(tableAt(table) + 4 + 2 * id, true);
    const root = reader.follow(0, 'root');
    const subgraph = reader.follow(reader.follow(field(root, 2), 'x') + 4, 'x');
    const tensor = reader.follow(reader.follow(field(subgraph, 0), 'x') + 4, 'x');
    bytes[field(tensor, 1)] = 19; // INT2, newer than DType
    expectFormatError(() => readModel(bytes), /^subgraphs\[0\]\.tensors\[0\]\.type$/, /INT2/);
    bytes[field(tensor, 1)] = 77;
    expectFormatError(() => readModel(bytes), /^subgraphs\[0\]\.tensors\[0\]\.type$/, /unknown tensor type code 77/);
  });
});
