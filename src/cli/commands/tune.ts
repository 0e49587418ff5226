import { parseArgs } from 'node:util';
import os from 'node:os';
import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { aboutFile, readInputFile } from '../cli-input.js';
import { readModel } from '../../model/read-model.js';
import { modelTensorSpecs } from '../../model/tensor-spec.js';
import { formatTable } from '../../pipeline/stats-table.js';
import { randomTensor, seededRandom } from '../../tensors/random-tensors.js';
import { describeLayout } from '../../tune/layouts.js';
import { tune, type TuneReport } from '../../tune/tune.js';
import { writeLayout } from '../../tune/write-config.js';

/** A positive number option, or UsageError naming it. */
function positive(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(n > 0)) throw new UsageError(`--${name} must be a positive number, got "${value}"`);
  return n;
}

function formatReport(report: TuneReport): string {
  const rows = [...report.ranked, ...report.excluded].map((r) => [
    describeLayout(r.layout),
    r.itemsPerSecond.toFixed(1),
    r.p50Ms.toFixed(1),
    r.p99Ms.toFixed(1),
    report.excluded.includes(r) ? 'over the p99 bound' : 'stoppedEarly' in r && r.stoppedEarly ? 'stopped halfway' : '',
  ]);
  const lines = [formatTable(['layout', 'items/s', 'p50 ms', 'p99 ms', 'note'], rows)];
  for (const s of report.skipped) lines.push(`not measured: ${s.layout} (${s.why})\n`);
  lines.push(report.recommendation === undefined ? 'no layout qualifies\n' : `best: ${report.recommendation}\n`);
  return lines.join('');
}

/**
 * Measures the layouts of a model on the CPU executors at hand (pipelines cut two ways, replicas and
 * mixes), recommends one and can write it into a daemon config. Edge TPU layouts are still to come.
 */
const tuneCommand: Command = {
  name: 'tune',
  summary: 'Measure every layout of a model (segments, replicas, mixes) on the devices at hand and recommend one',
  usage:
    'coral-pipe tune MODEL [--devices N] [--objective throughput|latency] [--max-p99 MS] [--budget-seconds S] [--items N] [--json] [--write-config FILE]\n' +
    '  --devices         CPU executors to use (default: the number of cores)\n' +
    '  --budget-seconds  no new candidate starts after this long (default 120)\n' +
    '  --items           items per candidate, after a warm-up (default 100)\n' +
    '  --write-config    write the recommended layout into this daemon config (model.segments, model.strategy, devices), keeping every other line',
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        devices: { type: 'string' },
        objective: { type: 'string', default: 'throughput' },
        'max-p99': { type: 'string' },
        'budget-seconds': { type: 'string' },
        items: { type: 'string' },
        json: { type: 'boolean', default: false },
        'write-config': { type: 'string' },
      },
    });
    if (positionals.length !== 1) throw new UsageError('give exactly one model file');
    const objective = values.objective;
    if (objective !== 'throughput' && objective !== 'latency') throw new UsageError('--objective must be throughput or latency');
    const devices = positive('devices', values.devices) ?? os.availableParallelism();
    if (!Number.isInteger(devices)) throw new UsageError('--devices must be a whole number');
    const items = Math.round(positive('items', values.items) ?? 100);
    const file = positionals[0]!;
    const bytes = await readInputFile(file, 'model');
    const { inputs } = await aboutFile(file, () => modelTensorSpecs(readModel(bytes)));
    const random = seededRandom(17);
    const maxP99Ms = positive('max-p99', values['max-p99']);
    const progress = process.stderr.isTTY && !values.json
      ? (e: { layout: string; index: number; of: number; done?: unknown }) => void process.stderr.write(e.done ? '\r\x1b[K' : `\r\x1b[Kmeasuring ${e.index + 1}/${e.of}: ${e.layout}`)
      : undefined;
    const report = await tune(bytes, {
      devices,
      objective,
      ...(maxP99Ms !== undefined && { maxP99Ms }),
      budgetSeconds: positive('budget-seconds', values['budget-seconds']) ?? 120,
      inputs: Object.fromEntries(inputs.map((spec) => [spec.name, randomTensor(spec, random)])),
      items,
      warmup: Math.max(2, Math.round(items / 10)),
      ...(progress && { progress }),
    });
    process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    const best = report.ranked[0];
    if (best === undefined) return 1;
    const configFile = values['write-config'];
    if (configFile !== undefined) {
      await writeLayout(configFile, best.layout, Array.from({ length: devices }, (_, i) => `cpu:${i}`));
      process.stderr.write(`wrote ${describeLayout(best.layout)} into ${configFile}\n`);
    }
    return 0;
  },
};
export default tuneCommand;
