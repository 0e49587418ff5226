/** `coral-pipe tune` as a user runs it (CPU executors). */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { testDataPath } from '../../src/testdata.js';
import { progressWriter } from '../../src/cli/commands/tune.js';
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

  it('--report writes the figures as JSON with an SVG chart and an HTML page beside it; progress a line per layout off a terminal', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'coral-pipe-tune-report-'));
    try {
      const model = testDataPath('models/mobilenet_v1_0.25_128_quant.tflite');
      const r = await runCli('tune', model, '--devices', '2', '--items', '8', '--report', path.join(dir, 'out', 'tune.json'));
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(
        r.stderr.split('\n').filter((l) => l.startsWith('measured ')).map((l) => l.replace(/: [\d.]+ items\/s$/, '')),
        ['measured 1/4: whole model', 'measured 2/4: whole model x 2', 'measured 3/4: 2 segments (params)', 'measured 4/4: 2 segments (latency)'],
      );
      const file = JSON.parse(await readFile(path.join(dir, 'out', 'tune.json'), 'utf8')) as { title: string; results: { tune: { rows: { layout: string }[] }[] }; report: { ranked: unknown[] } };
      assert.equal(file.title, 'coral-pipe tune');
      assert.equal(file.results.tune[0]!.rows.length, 4);
      assert.equal(file.report.ranked.length, 4);
      const svg = await readFile(path.join(dir, 'out', 'tune.svg'), 'utf8');
      for (const title of ['Throughput per layout', 'Latency per layout', 'whole model, one device']) assert.ok(svg.includes(title), title);
      const html = await readFile(path.join(dir, 'out', 'tune.html'), 'utf8');
      assert.match(html, /<h1>coral-pipe tune<\/h1>/);
      assert.ok(html.includes('<td>2 segments (latency)</td>'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('says what is wrong with its arguments', async () => {
    const model = testDataPath('models/mobilenet_v1_0.25_128_quant.tflite');
    const r = await runCli('tune', model, '--objective', 'fastest');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--objective must be throughput or latency/);
    const mixed = await runCli('tune', model, '--devices', 'cpu:0,usb:0');
    assert.equal(mixed.code, 1);
    assert.match(mixed.stderr, /--devices mixes CPU executors \(cpu:0\) and Edge TPUs: tune measures one kind at a time/);
    const compiled = await runCli('tune', testDataPath('models/mobilenet_v1_0.25_128_quant_edgetpu.tflite'), '--devices', '2');
    assert.equal(compiled.code, 1);
    assert.match(compiled.stderr, /mobilenet_v1_0\.25_128_quant_edgetpu\.tflite is compiled for the Edge TPU and CPU executors cannot run it/);
  });

  it('on a terminal, rewrites one progress line with the layout and, once one has finished, what is left', () => {
    const written: string[] = [];
    const progress = progressWriter({ isTTY: true, write: (text) => written.push(text) }, 120);
    const run = { layout: { replicas: [1] }, itemsPerSecond: 10, p50Ms: 1, p99Ms: 2, segmentMs: [1] };
    progress({ layout: 'whole model', index: 0, of: 3 });
    progress({ layout: 'whole model', index: 0, of: 3, done: run });
    progress({ layout: 'whole model x 2', index: 1, of: 3 });
    assert.equal(written[0], '\r\x1b[Kmeasuring 1/3: whole model');
    assert.equal(written[1], '\r\x1b[K', 'a finished layout clears the line');
    assert.match(written[2]!, /^\r\x1b\[Kmeasuring 2\/3: whole model x 2 · about \d+ s left$/);
  });
});
