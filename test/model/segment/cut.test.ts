/** Segmenting at the model level (no engine): structure, minimality, sizes, strategies, refusals. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readModel, writeModel, type Model } from '../../../src/model/index.js';
import { BUILTIN_OPERATORS } from '../../../src/model/schema.js';
import {
  autoSegmentCount, cutCandidates, cutModel, EDGETPU_CACHE_BYTES, executionOrder, minMaxSplit, parseSegmentFileName,
  readSegmentInfo, segmentFileName, segmentModel, SegmentationError, splitByParameters, type Segment,
} from '../../../src/model/segment/index.js';
import { parameterBytes } from '../../../src/model/graph.js';
import { analyzeChain } from '../../../src/model/segment/chain.js';
import { modelTensorSpecs } from '../../../src/model/tensor-spec.js';
import { modelBytes } from '../../helpers/model-files.js';
import { assertFaithfulSegments } from '../../helpers/segment-assert.js';
import { int8Everywhere } from '../../helpers/int8-model.js';

const MODELS = ['mobilenet_v1_0.25_128_quant', 'mobilenet_v1_0.5_160_quant', 'mobilenet_v2_1.0_224_quant', 'split_concat'];
const load = (name: string) => readModel(modelBytes(`models/${name}.tflite`));
const opCode = (name: string) => BUILTIN_OPERATORS.indexOf(name);

describe('params strategy', () => {
  for (const name of [...MODELS, 'deeplabv3_mnv2_dm05_pascal_quant']) {
    const model = load(name);
    const order = executionOrder(model);
    for (const n of [2, 3, 4, 8]) {
      if (n > order.length || (n === 8 && name !== 'mobilenet_v2_1.0_224_quant')) continue;
      it(`${name} N=${n}: faithful, minimal segments that chain; greedy parameter fill`, async () => {
        const { segments } = await segmentModel(model, { strategy: 'params', count: n });
        assert.equal(segments.length, n);
        const files = assertFaithfulSegments(model, segments, `${name} N=${n}`);
        // The split rule, checked on its own terms: each of the first N-1 segments stays within
        // total/N unless it holds a single operator, and stops only when the next operator would
        // exceed it or is needed to leave one operator per remaining segment.
        const subgraph = model.subgraphs[0]!;
        const cost = order.map((op) => parameterBytes(model, subgraph, op));
        const target = cost.reduce((a, b) => a + b, 0) / n;
        let start = 0;
        segments.slice(0, -1).forEach((s, i) => {
          const sum = cost.slice(start, start + s.operators.length).reduce((a, b) => a + b, 0);
          const end = start + s.operators.length;
          if (s.operators.length > 1) assert.ok(sum <= target, `segment ${i} holds ${sum} > ${target}`);
          const leftNeeded = n - 1 - i;
          assert.ok(end === order.length - leftNeeded || sum + cost[end]! > target, `segment ${i} stopped early`);
          start = end;
        });
        if (name !== 'split_concat') {
          const total = files.reduce((a, f) => a + f.length, 0);
          const whole = modelBytes(`models/${name}.tflite`).length;
          assert.ok(Math.abs(total - whole) / whole <= 0.05, `segments total ${total} bytes vs model ${whole}`);
        }
      });
    }
  }

  it('segment files carry their place and the model outputs; whole-model metadata is dropped', async () => {
    const model = load('mobilenet_v2_1.0_224_quant');
    assert.ok(model.metadata.some((m) => m.name === 'TFLITE_METADATA'));
    const { segments } = await segmentModel(model, { strategy: 'params', count: 3 });
    for (const s of segments) {
      const m = readModel(writeModel(s.model));
      assert.deepEqual(readSegmentInfo(m), { index: s.index, count: 3, modelInputs: ['input'], modelOutputs: ['MobilenetV2/Predictions/Softmax'] });
      const names = m.metadata.map((x) => x.name);
      assert.ok(names.includes('min_runtime_version'));
      assert.ok(!names.includes('TFLITE_METADATA'), 'TFLITE_METADATA describes the whole model');
      assert.equal(m.trailingData, undefined, 'the associated files of TFLITE_METADATA go with it');
    }
  });

  it('tensors that skip a segment are not routed through it', () => {
    // Cut a residual block of mobilenet_v2 into expand | depthwise | project+add: the block input is
    // read by the expand conv and the add, never by the depthwise segment.
    const model = load('mobilenet_v2_1.0_224_quant');
    const subgraph = model.subgraphs[0]!;
    const order = executionOrder(model);
    const add = order.find((op) => model.operatorCodes[subgraph.operators[op]!.opcodeIndex]!.builtinCode === opCode('ADD'))!;
    const at = order.indexOf(add);
    const groups = [order.slice(0, at - 3), order.slice(at - 3, at - 2), order.slice(at - 2, at - 1), order.slice(at - 1)];
    const segments = cutModel(model, groups);
    assertFaithfulSegments(model, segments, 'residual');
    const blockInput = subgraph.tensors[subgraph.operators[order[at - 3]!]!.inputs[0]!]!.name;
    const flow = analyzeChain(segments.map((s, i) => ({ name: `s${i}`, ...modelTensorSpecs(s.model) }))).tensors.get(blockInput)!;
    assert.deepEqual(flow.consumers, [1, 3]);
    assert.deepEqual(flow.skips, [2]);
    assert.ok(!segments[2]!.inputs.includes(blockInput) && !segments[2]!.outputs.includes(blockInput));
  });

  it('an early model output leaves from the segment that makes it (split_concat)', async () => {
    const model = load('split_concat');
    const { segments } = await segmentModel(model, { strategy: 'params', count: 3 });
    assert.ok(segments[1]!.outputs.includes('concat/split0'), 'split0 is a model output made by the SPLIT');
    assert.ok(!segments[2]!.inputs.includes('concat/split0'));
  });
});

describe('cut strategy', () => {
  it('cuts at each candidate tensor of every model, alone, into two faithful segments', async () => {
    for (const name of MODELS) {
      const model = load(name);
      const candidates = cutCandidates(model);
      assert.ok(candidates.length > 0, name);
      for (const tensor of candidates) {
        const { segments } = await segmentModel(model, { strategy: 'cut', cuts: [[tensor]] });
        assert.equal(segments.length, 2);
        assert.deepEqual(segments[0]!.outputs.filter((t) => segments[1]!.inputs.includes(t)), [tensor], `${name} at ${tensor}`);
      }
    }
  });

  it('several cuts, in any order, give the same segments', async () => {
    const model = load('mobilenet_v2_1.0_224_quant');
    const c = cutCandidates(model);
    const picks = [c[5]!, c[15]!, c[25]!];
    const a = await segmentModel(model, { strategy: 'cut', cuts: picks.map((t) => [t]) });
    const b = await segmentModel(model, { strategy: 'cut', cuts: [...picks].reverse().map((t) => [t]) });
    assert.equal(a.segments.length, 4);
    assert.deepEqual(a.segments.map((s) => s.operators), b.segments.map((s) => s.operators));
    assertFaithfulSegments(model, a.segments, 'mobilenet_v2 3 cuts');
  });

  it('int8 (post-training quantized) models cut like uint8 ones, types and zero points kept', async () => {
    // Every uint8 tensor made int8 (zero points and data shifted by 128). The CPU runtime cannot run
    // these mobilenets (its int8 convolutions want symmetric weights), so this checks the files;
    // segment-verify runs int8 segments.
    for (const name of ['mobilenet_v1_0.25_128_quant', 'mobilenet_v2_1.0_224_quant', 'split_concat']) {
      const model = readModel(int8Everywhere(modelBytes(`models/${name}.tflite`)));
      const c = cutCandidates(model);
      const cuts = c.length >= 3 ? [[c[Math.floor(c.length / 3)]!], [c[Math.floor((2 * c.length) / 3)]!]] : [[c[0]!]];
      const { segments } = await segmentModel(model, { strategy: 'cut', cuts });
      assertFaithfulSegments(model, segments, `int8 ${name}`);
      for (const s of segments) {
        const tensors = s.model.subgraphs[0]!.tensors;
        assert.ok(tensors.some((t) => t.type === 'int8') && !tensors.some((t) => t.type === 'uint8'), `${name} segment ${s.index} is int8`);
      }
    }
  });

  it('split_concat: a cut where two tensors cross is written with "+"', async () => {
    const model = load('split_concat');
    const { segments } = await segmentModel(model, { strategy: 'cut', cuts: [['concat'], ['concat/split3', 'concat/split5']] });
    assert.deepEqual(segments.map((s) => s.operators.length), [1, 1, 1]);
    assertFaithfulSegments(model, segments, 'split_concat cut');
    await assert.rejects(
      segmentModel(model, { strategy: 'cut', cuts: [['concat/split3']] }),
      (e: unknown) => e instanceof SegmentationError && /does not separate the graph: "concat\/split5" also crosses it/.test(e.message),
    );
  });

  it('refuses a cut that does not exist, is a model input, or sits inside a residual block', async () => {
    const model = load('mobilenet_v2_1.0_224_quant');
    const sub = model.subgraphs[0]!;
    const cases: [string[][], RegExp][] = [
      [[['no/such/tensor']], /cut tensor "no\/such\/tensor" does not exist/],
      [[['input']], /cannot cut at "input": it is a model input/],
      // The output of the first expand conv of a residual block: the block input crosses too.
      [[[sub.tensors[sub.operators[executionOrder(model).find((op) => model.operatorCodes[sub.operators[op]!.opcodeIndex]!.builtinCode === opCode('ADD'))! - 2]!.outputs[0]!]!.name]], /does not separate the graph: .*e\.g\. "MobilenetV2\/expanded_conv_\d+\/add" just after/],
      [[['MobilenetV2/Predictions/Softmax']], /leaves no operators for the last segment/],
    ];
    for (const [cuts, message] of cases) {
      await assert.rejects(segmentModel(model, { strategy: 'cut', cuts }), (e: unknown) => e instanceof SegmentationError && message.test(e.message));
    }
  });
});

describe('refusals', () => {
  it('more segments than operators, or fewer than one', async () => {
    const model = load('split_concat');
    await assert.rejects(segmentModel(model, { strategy: 'params', count: 4 }), /cannot make 4 segments from a model with 3 operators/);
    await assert.rejects(segmentModel(model, { strategy: 'params', count: 0 }), /must be a whole number ≥ 1/);
  });

  it('an Edge TPU compiled model, naming the compiler option to use instead', async () => {
    const model = readModel(modelBytes('models/mobilenet_v1_0.25_128_quant_edgetpu.tflite'));
    await assert.rejects(segmentModel(model, { strategy: 'params', count: 2 }), /already compiled for the Edge TPU.*--num_segments/);
  });

  it('a model with several subgraphs', async () => {
    const model = load('split_concat');
    const twice: Model = { ...model, subgraphs: [model.subgraphs[0]!, model.subgraphs[0]!] };
    await assert.rejects(segmentModel(twice, { strategy: 'params', count: 2 }), /2 subgraphs/);
  });
});

describe('signatures and state', () => {
  it('signature defs are rewritten for each segment: aliases kept for model tensors, tensor names otherwise', async () => {
    const model = readModel(modelBytes('models/keras_lstm_mnist_ptq.tflite'));
    assert.equal(model.signatureDefs.length, 1);
    const { segments } = await segmentModel(model, { strategy: 'params', count: 2 });
    const [first, last] = segments.map((s) => readModel(writeModel(s.model)));
    const check = (m: Model, io: 'inputs' | 'outputs', names: string[]) => {
      const sig = m.signatureDefs[0]!;
      assert.equal(sig.signatureKey, 'serving_default');
      assert.equal(sig.subgraphIndex, 0);
      assert.deepEqual(sig[io].map((e) => e.name), names);
      assert.deepEqual(sig[io].map((e) => e.tensorIndex), m.subgraphs[0]![io]);
    };
    check(first!, 'inputs', ['x']);
    check(last!, 'outputs', ['output_0']);
    const handedOn = segments[0]!.outputs[0]!;
    check(first!, 'outputs', [handedOn]);
    check(last!, 'inputs', [handedOn]);
  });

  it('refuses to split the users of a variable (state) tensor across segments', async () => {
    const model = load('split_concat');
    const sg = model.subgraphs[0]!;
    const state = sg.tensors.findIndex((t) => t.name === 'split_dim');
    const stateful: Model = {
      ...model,
      subgraphs: [{
        ...sg,
        tensors: sg.tensors.map((t, i) => (i === state ? { ...t, isVariable: true } : t)),
        operators: sg.operators.map((op, i) => (i === 2 ? { ...op, inputs: [...op.inputs, state] } : op)),
      }],
    };
    await assert.rejects(segmentModel(stateful, { strategy: 'params', count: 3 }), /variable \(state\) tensor "split_dim" is used in segments 1 and 2/);
    const whole = await segmentModel(stateful, { strategy: 'cut', cuts: [['concat']] });
    assert.equal(whole.segments.length, 2, 'fine while its users stay together');
  });
});

describe('min-max split', () => {
  it('matches exhaustive search on random costs', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const best = (costs: number[], n: number, overhead: number): number => {
      // Every way to choose n-1 cut points among costs.length-1 gaps.
      let min = Infinity;
      const walk = (from: number, left: number, worst: number) => {
        if (left === 1) {
          min = Math.min(min, Math.max(worst, overhead + costs.slice(from).reduce((a, b) => a + b, 0)));
          return;
        }
        for (let end = from + 1; end <= costs.length - (left - 1); end++) {
          walk(end, left - 1, Math.max(worst, overhead + costs.slice(from, end).reduce((a, b) => a + b, 0)));
        }
      };
      walk(0, n, 0);
      return min;
    };
    for (let trial = 0; trial < 200; trial++) {
      const costs = Array.from({ length: 2 + Math.floor(random() * 9) }, () => Math.floor(random() * 20));
      const n = 1 + Math.floor(random() * costs.length);
      const overhead = Math.floor(random() * 5);
      const starts = minMaxSplit(costs.length, n, (from, to) => overhead + costs.slice(from, to).reduce((a, b) => a + b, 0));
      assert.equal(starts.length, n);
      assert.equal(starts[0], 0);
      const worst = Math.max(...starts.map((s, i) => overhead + costs.slice(s, starts[i + 1] ?? costs.length).reduce((a, b) => a + b, 0)));
      assert.ok(starts.every((s, i) => i === 0 || s > starts[i - 1]!), `non-empty segments: ${starts}`);
      assert.equal(worst, best(costs, n, overhead), `costs ${costs} n ${n}`);
    }
  });
});

describe('counts and names', () => {
  it('auto: ceil(parameter MiB / 6) for the Edge TPU, CPU devices for CPU, within 1..operators', () => {
    const MiB = 1024 * 1024;
    assert.equal(autoSegmentCount('edgetpu', 20 * MiB, 100, 2), 4, "Coral's own example: 20 MB -> 3.3 -> 4");
    assert.equal(autoSegmentCount('edgetpu', 3.4 * MiB, 100, 2), 1);
    assert.equal(autoSegmentCount('edgetpu', 0, 100, 2), 1);
    assert.equal(autoSegmentCount('cpu', 20 * MiB, 100, 3), 3);
    assert.equal(autoSegmentCount('cpu', 0, 2, 8), 2);
  });

  it('the Edge TPU cache flag follows the segment parameter bytes', async () => {
    const { segments } = await segmentModel(load('mobilenet_v2_1.0_224_quant'), { strategy: 'params', count: 2 });
    for (const s of segments as Segment[]) assert.equal(s.fitsEdgeTpuCache, s.parameterBytes <= EDGETPU_CACHE_BYTES);
  });

  it('file names follow edgetpu_compiler --num_segments and parse back', () => {
    assert.equal(segmentFileName('mobilenet_v2_1.0_224_quant', 1, 3), 'mobilenet_v2_1.0_224_quant_segment_1_of_3.tflite');
    assert.deepEqual(parseSegmentFileName('/x/ssd_segment_2_of_4_edgetpu.tflite'), { stem: 'ssd', index: 2, count: 4 });
    assert.equal(parseSegmentFileName('model.tflite'), undefined);
  });

  it('params split positions are ascending and leave an operator for every segment', () => {
    const model = load('mobilenet_v1_0.25_128_quant');
    const order = executionOrder(model);
    for (let n = 1; n <= order.length; n++) {
      const starts = splitByParameters(model, order, n);
      assert.equal(starts.length, n);
      assert.ok(starts.every((s, i) => s < (starts[i + 1] ?? order.length)), `n=${n}: ${starts}`);
    }
  });
});
