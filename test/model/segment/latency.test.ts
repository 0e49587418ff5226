/**
 * The latency strategy's search, driven by a deterministic stand-in timer, so its logic (profile, DP,
 * measured refinement, caching, stopping) is checked exactly; real measurements are in segment-verify.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readModel } from '../../../src/model/index.js';
import { executionOrder, profileOperators, splitByLatency, type Segment, type SegmentTimer } from '../../../src/model/segment/index.js';
import { modelBytes } from '../../helpers/model-files.js';

const model = readModel(modelBytes('models/mobilenet_v1_0.25_128_quant.tflite'));
const order = executionOrder(model);
const position = new Map(order.map((op, i) => [op, i]));

/** A segment costs its operators' weights plus a fixed 0.5 per invoke; counts its calls. */
function fakeTimer(weight: (position: number) => number): SegmentTimer & { calls: number } {
  const timer = async (segment: Segment) => {
    timer.calls++;
    return 0.5 + segment.operators.reduce((sum, op) => sum + weight(position.get(op)!), 0);
  };
  timer.calls = 0;
  return timer;
}

/** The true cost of a segment, and of a split's slowest segment, under the same formula. */
const cost = (from: number, to: number, weight: (p: number) => number) => {
  let sum = 0.5;
  for (let p = from; p < to; p++) sum += weight(p);
  return sum;
};
const worst = (starts: readonly number[], weight: (p: number) => number) =>
  Math.max(...starts.map((s, i) => cost(s, starts[i + 1] ?? order.length, weight)));

// Uneven, position-dependent costs: heavy early layers, a spike in the middle.
const weight = (p: number) => (p === 15 ? 6 : 1 + ((p * 7) % 5) / 2 + (p < 6 ? 3 : 0));

describe('latency strategy search', () => {
  it('N=2 reaches the best split (found by trying every cut) and measures each candidate once', async () => {
    const timer = fakeTimer(weight);
    const profile = await profileOperators(model, order, timer);
    assert.equal(timer.calls, order.length + 1, 'profile: each operator alone and the whole model');
    const report = await splitByLatency(model, order, 2, { timer, profile, gapRatio: 0, maxCandidates: 1000 });
    let best = Infinity;
    for (let cut = 1; cut < order.length; cut++) best = Math.min(best, worst([0, cut], weight));
    assert.equal(report.upperBoundMs, best);
    assert.equal(worst(report.starts, weight), best);
    assert.equal(timer.calls - (order.length + 1), report.candidatesMeasured, 'the cache measured nothing twice');
    report.starts.forEach((s, i) => assert.equal(report.segmentMs[i], cost(s, report.starts[i + 1] ?? order.length, weight)));
  });

  it('never ends worse than the split the dynamic program chose, for N = 2..6', async () => {
    const timer = fakeTimer(weight);
    const profile = await profileOperators(model, order, timer);
    for (let n = 2; n <= 6; n++) {
      const report = await splitByLatency(model, order, n, { timer, profile, gapRatio: 0, maxCandidates: 200 });
      assert.equal(report.starts.length, n);
      assert.equal(report.upperBoundMs, Math.max(...report.segmentMs));
      assert.ok(report.upperBoundMs <= worst(report.initialStarts, weight), `N=${n}: refinement made it worse`);
      assert.equal(report.upperBoundMs, worst(report.starts, weight), `N=${n}: reported latencies are the measured ones`);
      assert.ok(report.lowerBoundMs <= report.upperBoundMs, `N=${n}: bounds ordered`);
      assert.equal(report.stoppedBecause, 'local-optimum');
    }
  });

  it('stops at the candidate budget, and at once when the gap is already small', async () => {
    const timer = fakeTimer(weight);
    const profile = await profileOperators(model, order, timer);
    const capped = await splitByLatency(model, order, 4, { timer, profile, gapRatio: 0, maxCandidates: 4 });
    assert.equal(capped.stoppedBecause, 'budget');
    assert.ok(capped.candidatesMeasured <= 4 + 4, 'at most one move past the budget');
    const loose = await splitByLatency(model, order, 3, { timer, profile, gapRatio: 0.99 });
    assert.equal(loose.stoppedBecause, 'gap');
    assert.equal(loose.candidatesMeasured, 3, 'only the chosen segments measured');
  });

  it('names the operator it cannot measure', async () => {
    const failing: SegmentTimer = async (segment) => {
      if (segment.operators.includes(order[3]!)) throw new Error('Element type INT64 is not supported');
      return 1;
    };
    await assert.rejects(splitByLatency(model, order, 2, { timer: failing }), new RegExp(`cannot measure operator ${order[3]} \\(DEPTHWISE_CONV_2D\\): Element type INT64`));
  });
});
