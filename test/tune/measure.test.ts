/** A layout measured for real through the runner (src/tune/measure.ts), on a small model. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { measureLayout } from '../../src/tune/measure.js';
import { testDataPath } from '../../src/testdata.js';

describe('tune measurement', () => {
  it('runs the model as each layout says and reports items/s, latency and each segment\'s engine time', async () => {
    const model = await readFile(testDataPath('models/mobilenet_v1_0.25_128_quant.tflite'));
    const inputs = { input: new Uint8Array(128 * 128 * 3).fill(100) };
    const options = { inputs, items: 20, warmup: 4 };
    const whole = await measureLayout(model, { replicas: [2] }, options);
    const cut = await measureLayout(model, { strategy: 'params', replicas: [1, 1] }, options);
    assert.equal(whole.segmentMs.length, 1);
    assert.equal(cut.segmentMs.length, 2);
    for (const run of [whole, cut]) {
      assert.ok(run.itemsPerSecond > 0 && run.p99Ms >= run.p50Ms && run.p50Ms > 0, JSON.stringify(run));
      assert.ok(run.segmentMs.every((ms) => ms > 0), JSON.stringify(run.segmentMs));
    }
  });
});

describe('tune', () => {
  it('measures every layout on 2 devices, ranks them, and spends no more than its budget', async () => {
    const { tune } = await import('../../src/tune/tune.js');
    const model = await readFile(testDataPath('models/mobilenet_v1_0.25_128_quant.tflite'));
    const inputs = { input: new Uint8Array(128 * 128 * 3).fill(100) };
    const events: string[] = [];
    const report = await tune(model, {
      devices: 2, objective: 'throughput', budgetSeconds: 600, inputs, items: 16, warmup: 4,
      progress: (e) => void (e.done && events.push(e.layout)),
    });
    assert.deepEqual(events, ['whole model', 'whole model x 2', '2 segments (params)', '2 segments (latency)']);
    assert.equal(report.ranked.length + report.excluded.length, 4);
    assert.match(report.recommendation!, /items\/s/);
    const none = await tune(model, { devices: 2, objective: 'throughput', budgetSeconds: 0, inputs, items: 8, warmup: 2 });
    assert.equal(none.runs.length, 1, 'the first candidate starts within any budget');
    assert.deepEqual(none.skipped.map((s) => s.why), Array(3).fill('the 0 s budget was spent'));
  });
});
