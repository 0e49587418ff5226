/**
 * `npm run bench [-- [--quick] NAME...]`: runs every benchmark module beside this file (or the named
 * ones), prints each section as a table, and writes the results as JSON to bench/results/ with the
 * report beside it (bench-<time>.html: charts and tables; bench-<time>.svg: the charts alone).
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatTable } from '../src/pipeline/stats-table.js';
import type { BenchModule } from './lib/bench.js';
import type { ReportFile, ReportSection } from '../src/report/report-file.js';
import { machineBusySeconds, ownCpuSeconds } from './lib/proc-stats.js';
import { machineSummary } from '../src/report/machine.js';
import { cell, renderHtml, renderSvg } from '../src/report/report-page.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** Results go to the source tree's bench/results, also when running the compiled dist/bench/run.js. */
const resultsDir = path.resolve(here, here.includes(`${path.sep}dist${path.sep}`) ? '../../bench/results' : 'results');
const NOT_MODULES = new Set(['run']);

function printSection(module: string, section: ReportSection): void {
  process.stdout.write(`\n== ${module}: ${section.title}\n`);
  const headers = [...new Set(section.rows.flatMap((r) => Object.keys(r)))];
  if (headers.length > 0) process.stdout.write(formatTable(headers, section.rows.map((r) => headers.map((h) => cell(r[h])))));
  for (const note of section.notes) process.stdout.write(`  ${note}\n`);
}

function usage(problem: string): never {
  process.stderr.write(`${problem}\nusage: npm run bench [-- [--quick] [MODULE...]]\n`);
  process.exit(2);
}

let args;
try {
  args = parseArgs({ allowPositionals: true, options: { quick: { type: 'boolean', default: false } } });
} catch (err) {
  usage((err as Error).message);
}
const { values, positionals } = args;
const available = readdirSync(here)
  .filter((f) => f.endsWith('.js') && !NOT_MODULES.has(path.basename(f, '.js')))
  .map((f) => path.basename(f, '.js'))
  .sort();
const unknown = positionals.filter((name) => !available.includes(name));
if (unknown.length > 0) usage(`no benchmark module ${unknown.map((u) => `"${u}"`).join(', ')}; there are: ${available.join(', ')}`);
const selected = positionals.length === 0 ? available : available.filter((name) => positionals.includes(name));

const machine = machineSummary();
const results: Record<string, readonly ReportSection[] | { error: string }> = {};
const durations: Record<string, number> = {};
/** Cores other processes kept busy on average while each module ran: figures taken beside them are low. */
const otherLoad: Record<string, number> = {};
let failed = false;
for (const name of selected) {
  const module = (await import(path.join(here, `${name}.js`))).default as BenchModule | undefined;
  if (typeof module?.run !== 'function') {
    // e.g. compiled output left behind by a source file since removed
    process.stdout.write(`\n== ${name}: skipped, its default export is not a benchmark module\n`);
    continue;
  }
  const started = performance.now();
  const [busy0, own0] = [machineBusySeconds(), ownCpuSeconds()];
  try {
    const sections = await module.run({ quick: values.quick });
    for (const section of sections) printSection(module.name, section);
    results[module.name] = sections;
  } catch (err) {
    failed = true;
    const message = err instanceof Error ? err.message : String(err);
    process.stdout.write(`\n== ${module.name}: FAILED: ${message}\n`);
    results[module.name] = { error: message };
  }
  durations[module.name] = (performance.now() - started) / 1000;
  otherLoad[module.name] = Math.max(0, machineBusySeconds() - busy0 - (ownCpuSeconds() - own0)) / durations[module.name]!;
  process.stdout.write(`  (${module.name}: ${durations[module.name]!.toFixed(0)} s; other processes kept ${otherLoad[module.name]!.toFixed(2)} of ${os.cpus().length} cores busy meanwhile)\n`);
}
mkdirSync(resultsDir, { recursive: true });
const date = new Date().toISOString();
const base = path.join(resultsDir, `bench-${date.replace(/[:.]/g, '-')}`);
const file: ReportFile = {
  title: 'coral-pipe benchmarks',
  date,
  command: ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '),
  quick: values.quick,
  machine: { ...machine, loadavgAtEnd: os.loadavg().map((l) => l.toFixed(2)).join(' ') },
  results,
  durations,
  otherLoad,
};
writeFileSync(`${base}.json`, JSON.stringify(file, null, 2) + '\n');
writeFileSync(`${base}.html`, renderHtml(file));
writeFileSync(`${base}.svg`, renderSvg(file));
const rel = (f: string) => path.relative(process.cwd(), f);
process.stdout.write(`\nresults written to ${rel(`${base}.json`)}, report ${rel(`${base}.html`)} and ${rel(`${base}.svg`)}\n`);
process.exitCode = failed ? 1 : 0;
