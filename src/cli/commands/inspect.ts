import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { parseArgs } from 'node:util';
import { aboutFile, readInputFile } from '../cli-input.js';
import { readModel } from '../../model/index.js';
import { formatSummary, summarizeModel } from '../../inspect/model-summary.js';

/** Describes a .tflite file from its bytes alone (no runtime), so it works for Edge TPU models too. */
const inspect: Command = {
  name: 'inspect',
  summary: 'Describe a .tflite model: inputs, outputs, operators, parameters, custom ops, Edge TPU or not',
  usage: 'coral-pipe inspect MODEL [--json]',
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { json: { type: 'boolean', default: false } },
    });
    if (positionals.length !== 1) throw new UsageError('give exactly one model file');
    const file = positionals[0]!;
    const bytes = await readInputFile(file, 'model');
    const summary = await aboutFile(file, () => summarizeModel(readModel(bytes)));
    process.stdout.write(values.json ? `${JSON.stringify(summary, null, 2)}\n` : formatSummary(summary));
    return 0;
  },
};
export default inspect;
