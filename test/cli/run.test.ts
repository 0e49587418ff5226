import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { testDataPath } from '../../src/testdata.js';
import { removeSegments, writeSegments } from '../helpers/segment-files.js';
import { cliPath } from '../helpers/cli.js';

const main = cliPath;
const cli = (...args: string[]) => spawnSync(process.execPath, [main, 'run', ...args], { encoding: 'utf8', timeout: 120_000 });

test('run pushes K items through the segments and reports per-segment stats', async () => {
  const segments = await writeSegments(testDataPath('models/mobilenet_v1_0.25_128_quant.tflite'), 2);
  after(() => removeSegments(segments));
  const result = cli(...segments, '--count', '7', '--replicas', '1,2', '--json');
  assert.equal(result.status, 0, result.stderr);
  const report = JSON.parse(result.stdout) as {
    items: number;
    itemsPerSecond: number;
    meanLatencyMs: number;
    stats: { segments: { count: number; devices: string[] }[] };
  };
  assert.equal(report.items, 7);
  assert.ok(report.itemsPerSecond > 0 && report.meanLatencyMs > 0);
  assert.deepEqual(report.stats.segments.map((s) => s.count), [7, 7]);
  assert.deepEqual(report.stats.segments.map((s) => s.devices), [['cpu:0'], ['cpu:1', 'cpu:2']]);
  const table = cli(...segments, '--count', '3');
  assert.equal(table.status, 0, table.stderr);
  assert.match(table.stdout, /^3 items in .* items\/s, mean latency/);
  assert.match(table.stdout, /mobilenet_v1_0\.25_128_quant_segment_1_of_2\.tflite\s+cpu:1\s+3\s+0/);
});

test('run: bad arguments are usage errors, a missing file one error line', () => {
  const usage = cli('a.tflite', '--count', 'zero');
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /--count must be a positive integer, got "zero"/);
  const replicas = cli('a.tflite', 'b.tflite', '--replicas', '1,2,3');
  assert.equal(replicas.status, 2);
  assert.match(replicas.stderr, /--replicas gives 3 counts for 2 segments/);
  const missing = cli('/nonexistent/seg.tflite');
  assert.equal(missing.status, 1);
  assert.equal(missing.stderr.trim().split('\n').length, 1, missing.stderr);
  assert.match(missing.stderr, /cannot read segment 0 "\/nonexistent\/seg\.tflite": ENOENT/);
});
