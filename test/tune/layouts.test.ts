/** The layouts tune measures and how it ranks them (src/tune), on injected measurements. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeLayout, devicesOf, devicesSetting } from '../../src/pipeline/layout.js';
import { assignSpares, baseLayouts, mixedLayouts } from '../../src/tune/layouts.js';
import { rankLayouts, type Measurement } from '../../src/tune/ranking.js';

describe('tune layouts', () => {
  it('names one device per segment, or a list of replicas', () => {
    assert.deepEqual(devicesSetting({ strategy: 'latency', replicas: [2, 1, 1] }, ['cpu:0', 'cpu:1', 'cpu:2', 'cpu:3']), [['cpu:0', 'cpu:1'], 'cpu:2', 'cpu:3']);
    assert.deepEqual(devicesSetting({ replicas: [3] }, ['cpu:0', 'cpu:1', 'cpu:2', 'cpu:3']), [['cpu:0', 'cpu:1', 'cpu:2']]);
    assert.throws(() => devicesSetting({ replicas: [5] }, ['cpu:0', 'cpu:1', 'cpu:2', 'cpu:3']), /needs more devices than the 4 given/);
  });

  it('on 3 devices: the whole model, 2 and 3 replicas, and pipelines of 2 and 3 segments cut both ways', () => {
    assert.deepEqual(baseLayouts(3).map(describeLayout), [
      'whole model',
      'whole model x 2',
      'whole model x 3',
      '2 segments (params)',
      '2 segments (latency)',
      '3 segments (params)',
      '3 segments (latency)',
    ]);
    assert.ok(baseLayouts(3).every((l) => devicesOf(l) <= 3));
    assert.throws(() => baseLayouts(0), /at least one device/);
  });

  it('gives spare devices to the segments that bound the rate, one at a time', () => {
    assert.deepEqual(assignSpares([10, 30, 10], 1), [1, 2, 1]);
    assert.deepEqual(assignSpares([10, 30, 10], 2), [1, 3, 1]);
    assert.deepEqual(assignSpares([20, 30], 2), [2, 2]);
    assert.deepEqual(assignSpares([10, 10], 1), [2, 1], 'ties go to the earlier segment');
  });

  it('mixes only pure pipelines of fewer segments than devices', () => {
    const mixes = mixedLayouts(4, [
      { layout: { strategy: 'latency', replicas: [1, 1] }, segmentMs: [12, 20] },
      { layout: { strategy: 'params', replicas: [1, 1, 1] }, segmentMs: [5, 5, 9] },
      { layout: { strategy: 'params', replicas: [1, 1, 1, 1] }, segmentMs: [5, 5, 5, 5] },
      { layout: { replicas: [1] }, segmentMs: [30] },
    ]);
    assert.deepEqual(mixes.map(describeLayout), ['2 segments (latency) x [2, 2]', '3 segments (params) x [1, 1, 2]']);
    assert.ok(mixes.every((l) => devicesOf(l) === 4));
  });
});

describe('tune ranking', () => {
  const m = (replicas: number[], itemsPerSecond: number, p50Ms: number, p99Ms: number, strategy?: 'params' | 'latency'): Measurement => ({
    layout: { ...(strategy && { strategy }), replicas },
    itemsPerSecond,
    p50Ms,
    p99Ms,
  });
  const measured = [m([1], 58, 99, 130), m([2], 107, 71, 125), m([1, 1], 61, 98, 130, 'params'), m([1, 1], 97, 91, 133, 'latency'), m([2, 2], 180, 80, 190, 'latency')];

  it('by throughput: the fastest first, and says how it compares with the best pure pipeline', () => {
    const r = rankLayouts(measured, 'throughput');
    assert.deepEqual(r.ranked.map((x) => describeLayout(x.layout)).slice(0, 3), ['2 segments (latency) x [2, 2]', 'whole model x 2', '2 segments (latency)']);
    assert.equal(r.recommendation, '2 segments (latency) x [2, 2]: 180.0 items/s, 1.86x the best pure pipeline (2 segments (latency))');
  });

  it('leaves out what misses the p99 bound, and says the bound', () => {
    const r = rankLayouts(measured, 'throughput', 150);
    assert.deepEqual(r.excluded.map((x) => describeLayout(x.layout)), ['2 segments (latency) x [2, 2]']);
    assert.match(r.recommendation!, /^whole model x 2: 107\.0 items\/s, 1\.10x the best pure pipeline \(2 segments \(latency\)\) within p99 150 ms$/);
    assert.equal(rankLayouts(measured, 'throughput', 10).recommendation, undefined);
  });

  it('by latency: the lowest p50 first', () => {
    const r = rankLayouts(measured, 'latency');
    assert.equal(describeLayout(r.ranked[0]!.layout), 'whole model x 2');
    assert.equal(r.recommendation, 'whole model x 2: p50 71.0 ms, the lowest');
  });
});
