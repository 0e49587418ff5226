/**
 * `coral-pipe verify MODEL SEGMENT... [--runs K]`: the segments, run in order, must give exactly the
 * whole model's output bytes. Exit 0 only if every output of every run is identical.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { verifySegments, type VerifyReport } from '../../devices/verify-segments.js';
import { imageInputs } from '../../image/sample-inputs.js';

function describe(report: VerifyReport, segments: number): string {
  const kinds = [...new Set(report.inputKinds)].join(' and ');
  if (report.identical) {
    return `identical: ${report.outputs.length} output(s) of ${segments} segments equal the whole model's, byte for byte, on ${report.runs} ${kinds} input(s)\n`;
  }
  const lines = [`DIFFERENT: ${report.differences.length} output(s) differ over ${report.runs} run(s) (${kinds} inputs)`];
  for (const d of report.differences) {
    lines.push(
      `  run ${d.run} "${d.tensor}": ${d.differing} of ${d.elements} elements differ; first at [${d.firstIndex}]: whole model ${d.expected}, segments ${d.actual}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

const command: Command = {
  name: 'verify',
  summary: 'Run a model and its segments on the same inputs and check the outputs are byte-identical',
  usage: 'coral-pipe verify MODEL SEGMENT... [--runs K] [--seed S] [--image FILE ...] [--random] [--json]\n' +
    '  image inputs come from --image files, else the test data images when present; --random forces seeded random inputs',
  async run(argv) {
    const parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        runs: { type: 'string' },
        seed: { type: 'string' },
        image: { type: 'string', multiple: true },
        random: { type: 'boolean' },
        json: { type: 'boolean' },
      },
    });
    const { values, positionals } = parsed;
    if (positionals.length < 2) throw new UsageError('give the MODEL and then its SEGMENT files, segment 0 first');
    const runs = Number(values.runs ?? 3);
    if (!Number.isInteger(runs) || runs < 1) throw new UsageError(`--runs must be a whole number ≥ 1, not "${values.runs}"`);
    const seed = Number(values.seed ?? 1);
    if (!Number.isInteger(seed)) throw new UsageError(`--seed must be an integer, not "${values.seed}"`);
    const [modelFile, ...segmentFiles] = positionals as [string, ...string[]];
    const model = new Uint8Array(await readFile(modelFile));
    const segments = await Promise.all(segmentFiles.map(async (file) => ({ name: path.basename(file), bytes: new Uint8Array(await readFile(file)) })));
    const input = values.random ? undefined : await imageInputs(values.image);
    const report = await verifySegments(model, segments, { runs, seed, ...(input ? { input } : {}) });
    process.stdout.write(values.json ? `${JSON.stringify(report, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n` : describe(report, segments.length));
    return report.identical ? 0 : 1;
  },
};

export default command;
