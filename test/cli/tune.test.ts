/** `coral-pipe tune` as a user runs it (CPU executors). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testDataPath } from '../../src/testdata.js';
import { runCli } from '../helpers/cli.js';

describe('coral-pipe tune', () => {
  it('measures the layouts of a model on 2 CPU executors and recommends one, as a table or JSON', async () => {
    const model = testDataPath('models/mobilenet_v1_0.25_128_quant.tflite');
    const table = await runCli('tune', model, '--devices', '2', '--items', '8');
    assert.equal(table.code, 0, table.stderr);
    for (const layout of ['whole model', 'whole model x 2', '2 segments (params)', '2 segments (latency)']) assert.match(table.stdout, new RegExp(`^${layout.replace(/[()]/g, '\\$&')}\\s`, 'm'));
    assert.match(table.stdout, /^best: .* items\/s, /m);
    const json = await runCli('tune', model, '--devices', '2', '--items', '8', '--objective', 'latency', '--json');
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout) as { ranked: { p50Ms: number }[]; recommendation: string };
    assert.equal(report.ranked.length, 4);
    assert.deepEqual(report.ranked.map((r) => r.p50Ms), [...report.ranked.map((r) => r.p50Ms)].sort((a, b) => a - b));
    assert.match(report.recommendation, /p50 .* ms, the lowest/);
  });

  it('says what is wrong with its arguments', async () => {
    const r = await runCli('tune', testDataPath('models/mobilenet_v1_0.25_128_quant.tflite'), '--objective', 'fastest');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--objective must be throughput or latency/);
  });
});
