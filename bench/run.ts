/**
 * `npm run bench [NAME...]`: runs every benchmark module beside this file (or the named ones), prints
 * each section as a table and writes all results as JSON to bench/results/.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatTable } from '../src/pipeline/stats-table.js';
import type { BenchModule, BenchSection } from './lib/bench.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** Results go to the source tree's bench/results, also when running the compiled dist/bench/run.js. */
const resultsDir = path.resolve(here, here.includes(`${path.sep}dist${path.sep}`) ? '../../bench/results' : 'results');
const NOT_MODULES = new Set(['run']);

const cell = (v: string | number) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(v >= 100 ? 0 : 2)) : v);

function printSection(module: string, section: BenchSection): void {
  process.stdout.write(`\n== ${module}: ${section.title}\n`);
  const headers = [...new Set(section.rows.flatMap((r) => Object.keys(r)))];
  if (headers.length > 0) process.stdout.write(formatTable(headers, section.rows.map((r) => headers.map((h) => (r[h] === undefined ? '' : cell(r[h]!))))));
  for (const note of section.notes) process.stdout.write(`  ${note}\n`);
}

const wanted = new Set(process.argv.slice(2));
const files = readdirSync(here)
  .filter((f) => f.endsWith('.js') && !NOT_MODULES.has(path.basename(f, '.js')))
  .filter((f) => wanted.size === 0 || wanted.has(path.basename(f, '.js')))
  .sort();
const results: Record<string, readonly BenchSection[] | { error: string }> = {};
let failed = false;
for (const file of files) {
  const module = (await import(path.join(here, file))).default as BenchModule | undefined;
  if (typeof module?.run !== 'function') {
    // e.g. compiled output left behind by a source file since removed
    process.stdout.write(`\n== ${file}: skipped, its default export is not a benchmark module\n`);
    continue;
  }
  try {
    const sections = await module.run();
    for (const section of sections) printSection(module.name, section);
    results[module.name] = sections;
  } catch (err) {
    failed = true;
    const message = err instanceof Error ? err.message : String(err);
    process.stdout.write(`\n== ${module.name}: FAILED: ${message}\n`);
    results[module.name] = { error: message };
  }
}
mkdirSync(resultsDir, { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const out = path.join(resultsDir, `bench-${stamp}.json`);
const machine = { node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model, loadavg: os.loadavg() };
writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), machine, results }, null, 2) + '\n');
process.stdout.write(`\nresults written to ${path.relative(process.cwd(), out)}\n`);
process.exitCode = failed ? 1 : 0;
