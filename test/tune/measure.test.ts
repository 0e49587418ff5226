/** A layout measured for real through the runner (src/tune/measure.ts), on a small model. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import type { Layout } from '../../src/pipeline/layout.js';
import { cpuCuts } from '../../src/tune/layout-segments.js';
import { measureLayout } from '../../src/tune/measure.js';
import { testDataPath } from '../../src/testdata.js';

const MODEL = testDataPath('models/mobilenet_v1_0.25_128_quant.tflite');
const placement = { deviceIds: ['cpu:0', 'cpu:1'] };

describe('tune measurement', () => {
  it('runs the model as each layout says and reports items/s, latency and each segment\'s engine time', async () => {
    const supply = cpuCuts(await readFile(MODEL), MODEL);
    const inputs = { input: new Uint8Array(128 * 128 * 3).fill(100) };
    const options = { inputs, items: 20, warmup: 4 };
    const measure = async (layout: Layout) => {
      const prepared = await supply.prepare(layout);
      assert.ok(!('skip' in prepared));
      return measureLayout(prepared, layout, placement, options);
    };
    const whole = await measure({ replicas: [2] });
    const cut = await measure({ strategy: 'params', replicas: [1, 1] });
    assert.equal(whole.segmentMs.length, 1);
    assert.equal(cut.segmentMs.length, 2);
    for (const run of [whole, cut]) {
      assert.ok(run.itemsPerSecond > 0 && run.p99Ms >= run.p50Ms && run.p50Ms > 0, JSON.stringify(run));
      assert.ok(run.segmentMs.every((ms) => ms > 0), JSON.stringify(run.segmentMs));
      assert.equal(run.fitsOnChip, true, 'half a MiB of parameters fits the Edge TPU\'s 8 MiB');
    }
  });
});

describe('tune', () => {
  it('measures every layout on 2 devices, ranks them, and spends no more than its budget', async () => {
    const { tune } = await import('../../src/tune/tune.js');
    const supply = cpuCuts(await readFile(MODEL), MODEL);
    const inputs = { input: new Uint8Array(128 * 128 * 3).fill(100) };
    const events: string[] = [];
    const report = await tune({
      supply, placement, objective: 'throughput', budgetSeconds: 600, inputs, items: 16, warmup: 4,
      progress: (e) => void (e.done && events.push(e.layout)),
    });
    assert.deepEqual(events, ['whole model', 'whole model x 2', '2 segments (params)', '2 segments (latency)']);
    assert.equal(report.ranked.length + report.excluded.length, 4);
    assert.match(report.recommendation!, /items\/s/);
    const none = await tune({ supply, placement, objective: 'throughput', budgetSeconds: 0, inputs, items: 8, warmup: 2 });
    assert.equal(none.runs.length, 1, 'the first candidate starts within any budget');
    assert.deepEqual(none.skipped.map((s) => s.why), Array(3).fill('the 0 s budget was spent'));
  });
});
