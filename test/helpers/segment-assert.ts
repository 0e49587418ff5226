/**
 * Checks a segmentation against its model at the file level: every segment a valid standalone model
 * holding exactly its operators, tensors, codes and constants unchanged, minimal inputs and outputs,
 * and the chain of segments complete.
 */
import assert from 'node:assert/strict';
import { analyzeChain } from '../../src/model/segment/chain.js';
import { readModel, writeModel, type Model } from '../../src/model/index.js';
import type { Segment } from '../../src/model/segment/index.js';
import { modelTensorSpecs } from '../../src/model/tensor-spec.js';

const bufferData = (model: Model, tensorBuffer: number) => model.buffers[tensorBuffer]!.data;

/** Re-reads each segment from its written file and checks it; returns the files' bytes. */
export function assertFaithfulSegments(model: Model, segments: readonly Segment[], label: string): Uint8Array[] {
  const whole = model.subgraphs[0]!;
  const produced = new Map<string, number>();
  const readBy = new Map<string, number[]>();
  const placed = segments.flatMap((s) => s.operators);
  assert.deepEqual([...placed].sort((a, b) => a - b), whole.operators.map((_, i) => i), `${label}: every operator in exactly one segment`);

  const files = segments.map((s) => writeModel(s.model));
  const models = files.map((bytes) => readModel(bytes));
  models.forEach((m, i) => {
    const where = `${label} segment ${i}`;
    const sg = m.subgraphs[0]!;
    assert.equal(m.subgraphs.length, 1, where);
    assert.equal(m.buffers[0]!.data.length, 0, `${where}: buffer 0 empty`);
    assert.equal(m.description, model.description, `${where}: description kept`);
    assert.equal(sg.operators.length, segments[i]!.operators.length, where);
    const usedCodes = new Set(sg.operators.map((op) => op.opcodeIndex));
    assert.equal(usedCodes.size, m.operatorCodes.length, `${where}: only the operator codes it uses`);
    sg.operators.forEach((op, k) => {
      const original = whole.operators[segments[i]!.operators[k]!]!;
      assert.deepEqual(m.operatorCodes[op.opcodeIndex], model.operatorCodes[original.opcodeIndex], `${where} op ${k}: code and version`);
      assert.deepEqual(op.builtinOptions, original.builtinOptions, `${where} op ${k}: options`);
      const pairs = [...op.inputs.map((t, j) => [t, original.inputs[j]!]), ...op.outputs.map((t, j) => [t, original.outputs[j]!])];
      assert.equal(op.inputs.length + op.outputs.length, original.inputs.length + original.outputs.length);
      for (const [t, o] of pairs) {
        if (o! < 0) {
          assert.equal(t, o, `${where} op ${k}: omitted optional input kept`);
          continue;
        }
        const mine = sg.tensors[t!]!;
        const theirs = whole.tensors[o!]!;
        assert.equal(mine.name, theirs.name);
        assert.equal(mine.type, theirs.type, `${where} ${mine.name}: type`);
        assert.deepEqual(mine.shape, theirs.shape, `${where} ${mine.name}: shape`);
        assert.deepEqual(mine.quantization, theirs.quantization, `${where} ${mine.name}: quantization`);
        assert.deepEqual(bufferData(m, mine.buffer), bufferData(model, theirs.buffer), `${where} ${mine.name}: constant data`);
      }
      for (const t of original.outputs) produced.set(whole.tensors[t]!.name, i);
      for (const t of original.inputs) if (t >= 0) readBy.set(whole.tensors[t]!.name, [...(readBy.get(whole.tensors[t]!.name) ?? []), i]);
    });
  });

  // Minimal interfaces: inputs are exactly what it reads from outside; outputs exactly what is needed later.
  const modelIn = new Set(whole.inputs.map((t) => whole.tensors[t]!.name));
  const modelOut = new Set(whole.outputs.map((t) => whole.tensors[t]!.name));
  models.forEach((m, i) => {
    const specs = modelTensorSpecs(m);
    const inputs = new Set(specs.inputs.map((s) => s.name));
    const outputs = new Set(specs.outputs.map((s) => s.name));
    const expectedIn = [...readBy].filter(([n, rs]) => rs.includes(i) && (modelIn.has(n) || (produced.has(n) && produced.get(n)! < i))).map(([n]) => n);
    const expectedOut = [...produced].filter(([n, p]) => p === i && (modelOut.has(n) || (readBy.get(n) ?? []).some((r) => r > i))).map(([n]) => n);
    assert.deepEqual([...inputs].sort(), expectedIn.sort(), `${label} segment ${i}: inputs`);
    assert.deepEqual([...outputs].sort(), expectedOut.sort(), `${label} segment ${i}: outputs`);
    assert.deepEqual(segments[i]!.inputs.slice().sort(), [...inputs].sort());
    assert.deepEqual(segments[i]!.outputs.slice().sort(), [...outputs].sort());
  });

  analyzeChain(
    models.map((m, i) => ({ name: `segment ${i}`, ...modelTensorSpecs(m) })),
    { modelInputs: [...modelIn], modelOutputs: [...modelOut] },
  );
  return files;
}
