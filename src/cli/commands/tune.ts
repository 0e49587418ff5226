import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { readInputFile } from '../cli-input.js';
import type { Enumeration } from '../../devices/enumerate.js';
import type { LeaseOptions } from '../../devices/lease.js';
import { formatTable } from '../../pipeline/stats-table.js';
import { machineSummary } from '../../report/machine.js';
import type { ReportFile } from '../../report/report-file.js';
import { cell, renderHtml, renderSvg } from '../../report/report-page.js';
import { randomTensor, seededRandom } from '../../tensors/random-tensors.js';
import { describeLayout } from '../../pipeline/layout.js';
import type { LayoutRun } from '../../tune/measure.js';
import { tuneSection } from '../../tune/tune-report.js';
import { segmentSupply, tuneDevices, type DeviceRequest } from '../../tune/tune-target.js';
import { tune, type TuneReport } from '../../tune/tune.js';
import { writeLayout } from '../../tune/write-config.js';

/** A positive number option, or UsageError naming it. */
function positive(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(n > 0)) throw new UsageError(`--${name} must be a positive number, got "${value}"`);
  return n;
}

/** `auto`, a whole number of CPU executors, or a comma-separated list of device ids. */
function deviceRequest(value: string | undefined): DeviceRequest {
  if (value === undefined || value === 'auto') return 'auto';
  if (/^\d+$/.test(value)) {
    const n = Number(value);
    if (n < 1) throw new UsageError('--devices must name at least one device');
    return n;
  }
  const ids = value.split(',').map((id) => id.trim());
  if (ids.some((id) => id === '')) throw new UsageError(`--devices "${value}" has an empty entry`);
  return ids;
}

const BAR_WIDTH = 24;

/** The report's table with a bar per layout for its items/s, then its notes (what was not measured, the choice). */
function formatReport(report: TuneReport): string {
  const section = tuneSection(report, []);
  const top = Math.max(...section.rows.map((r) => r['items/s'] as number));
  const headers = Object.keys(section.rows[0] ?? {});
  const rows = section.rows.map((r) => [...headers.map((h) => cell(r[h])), '█'.repeat(Math.max(1, Math.round((BAR_WIDTH * (r['items/s'] as number)) / top)))]);
  return formatTable([...headers, ''], rows) + section.notes.map((n) => `${n}\n`).join('');
}

/** Where progress goes: standard error, a terminal or not. */
export interface ProgressStream {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

/**
 * Progress: on a terminal one line rewritten in place, naming the layout and, once one has finished,
 * about how long the rest will take (the budget bounds it); elsewhere a plain line per layout measured.
 */
export function progressWriter(stream: ProgressStream, budgetSeconds: number): (e: { layout: string; index: number; of: number; done?: LayoutRun }) => void {
  const started = performance.now();
  let finished = 0;
  return (e) => {
    if (e.done) {
      finished++;
      stream.write(stream.isTTY ? '\r\x1b[K' : `measured ${e.index + 1}/${e.of}: ${e.layout}: ${e.done.itemsPerSecond.toFixed(1)} items/s\n`);
      return;
    }
    if (!stream.isTTY) return;
    const elapsed = (performance.now() - started) / 1000;
    // Each layout takes about as long as those before it; no new one starts after the budget.
    const each = elapsed / finished;
    const eta = finished === 0 ? undefined : Math.min(each * (e.of - e.index), Math.max(0, budgetSeconds - elapsed) + each);
    stream.write(`\r\x1b[Kmeasuring ${e.index + 1}/${e.of}: ${e.layout}${eta === undefined ? '' : ` · about ${Math.ceil(eta)} s left`}`);
  };
}

export interface TuneCommandDeps {
  /** The device scan for `--devices auto` and Edge TPU ids; enumerateDevices() by default (tests inject fake devices). */
  readonly enumerate?: () => Promise<Enumeration>;
  /** Where Edge TPU lock files go; the daemon's /run/coral-pipe by default. */
  readonly leases?: LeaseOptions;
  /** Where the table or JSON goes; standard output by default. */
  readonly write?: (text: string) => void;
}

export function createTuneCommand(deps: TuneCommandDeps = {}): Command {
  return {
    name: 'tune',
    summary: 'Measure every layout of a model (segments, replicas, mixes) on the devices at hand and recommend one',
    usage:
      'coral-pipe tune MODEL [--devices auto|N|LIST] [--objective throughput|latency] [--max-p99 MS] [--budget-seconds S] [--items N]\n' +
      '                      [--compiler PATH] [--compiled DIR]... [--json] [--report FILE.json] [--write-config FILE]\n' +
      '  --devices         auto (every Edge TPU found, else one CPU executor per core), N CPU executors,\n' +
      '                    or ids: cpu:0,cpu:1 or usb:0,usb:1,pci:0 (Edge TPUs are leased while measured)\n' +
      '  --compiler        edgetpu_compiler to compile Edge TPU layouts with (default: edgetpu_compiler on PATH)\n' +
      '  --compiled        without a compiler: folders holding compiled sets MODEL_edgetpu.tflite and\n' +
      '                    MODEL_segment_<i>_of_<N>_edgetpu.tflite (MODEL\'s own folder is always looked in)\n' +
      '  --budget-seconds  no new layout starts after this long (default 120)\n' +
      '  --items           items per layout, after a warm-up (default 100)\n' +
      '  --report          write the figures as JSON there, with an .svg chart and an .html page beside it\n' +
      '  --write-config    write the recommended layout into this daemon config (model.segments, model.strategy\n' +
      '                    or model.segmentFiles, devices), keeping every other line',
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
          compiler: { type: 'string' },
          compiled: { type: 'string', multiple: true, default: [] },
          json: { type: 'boolean', default: false },
          report: { type: 'string' },
          'write-config': { type: 'string' },
        },
      });
      if (positionals.length !== 1) throw new UsageError('give exactly one model file');
      const objective = values.objective;
      if (objective !== 'throughput' && objective !== 'latency') throw new UsageError('--objective must be throughput or latency');
      const request = deviceRequest(values.devices);
      const items = Math.round(positive('items', values.items) ?? 100);
      const budgetSeconds = positive('budget-seconds', values['budget-seconds']) ?? 120;
      const maxP99Ms = positive('max-p99', values['max-p99']);
      const file = positionals[0]!;
      const bytes = await readInputFile(file, 'model');
      const devices = await tuneDevices(request, deps.enumerate);
      const workDir = await mkdtemp(path.join(os.tmpdir(), 'coral-pipe-tune-'));
      try {
        const supply = await segmentSupply(file, bytes, devices, {
          ...(values.compiler !== undefined && { compiler: values.compiler }),
          compiledDirs: values.compiled,
          workDir,
        });
        const random = seededRandom(17);
        const report = await tune({
          supply,
          placement: { deviceIds: devices.ids, ...(deps.enumerate && { enumerate: deps.enumerate }), ...(deps.leases && { leases: deps.leases }) },
          objective,
          ...(maxP99Ms !== undefined && { maxP99Ms }),
          budgetSeconds,
          inputs: Object.fromEntries(supply.inputs.map((spec) => [spec.name, randomTensor(spec, random)])),
          items,
          warmup: Math.max(2, Math.round(items / 10)),
          progress: progressWriter(process.stderr, budgetSeconds),
        });
        (deps.write ?? ((text) => void process.stdout.write(text)))(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
        if (values.report !== undefined) await writeReport(values.report, argv, report, [`on ${devices.ids.join(', ')}${devices.note ? ` (${devices.note})` : ''}; segments: ${supply.source}`]);
        const best = report.ranked[0];
        if (best === undefined) return 1;
        const configFile = values['write-config'];
        if (configFile !== undefined) {
          const prepared = await supply.prepare(best.layout);
          const files = 'files' in prepared && prepared.files ? await keepFiles(prepared.files, workDir, path.dirname(path.resolve(configFile))) : undefined;
          await writeLayout(configFile, best.layout, devices.ids, files);
          process.stderr.write(`wrote ${describeLayout(best.layout)} into ${configFile}${files ? ` (segments ${files.map((f) => path.basename(f)).join(', ')})` : ''}\n`);
        }
        return 0;
      } finally {
        await rm(workDir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * Compiled files made in the scratch folder are copied beside the config, which names them relative
 * to itself (the loader resolves them against its folder); files found elsewhere are named as found.
 */
async function keepFiles(files: readonly string[], workDir: string, configDir: string): Promise<string[]> {
  return Promise.all(
    files.map(async (f) => {
      if (!f.startsWith(workDir + path.sep)) return path.resolve(f);
      await copyFile(f, path.join(configDir, path.basename(f)));
      return path.basename(f);
    }),
  );
}

/** FILE.json with FILE.svg and FILE.html beside it, as `npm run bench` writes its results. */
async function writeReport(jsonFile: string, argv: readonly string[], report: TuneReport, notes: string[]): Promise<void> {
  const base = jsonFile.replace(/\.json$/i, '');
  await mkdir(path.dirname(path.resolve(base)), { recursive: true });
  const page: ReportFile = {
    title: 'coral-pipe tune',
    date: new Date().toISOString(),
    command: ['coral-pipe tune', ...argv].join(' '),
    quick: false,
    machine: machineSummary(),
    results: { tune: [tuneSection(report, notes)] },
  };
  await writeFile(`${base}.json`, `${JSON.stringify({ ...page, report }, null, 2)}\n`);
  await writeFile(`${base}.svg`, renderSvg(page));
  await writeFile(`${base}.html`, renderHtml(page));
  process.stderr.write(`report: ${base}.json, ${base}.svg, ${base}.html\n`);
}

export default createTuneCommand();
