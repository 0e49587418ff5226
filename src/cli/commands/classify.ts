import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { parseArgs } from 'node:util';
import { aboutFile, readInputFile } from '../cli-input.js';
import { loadCpuEngine } from '../../devices/cpu-engine.js';
import { imageToTensor } from '../../image/to-tensor.js';
import { readLabels } from '../../classify/labels.js';
import { fitLabels } from '../../classify/labels-fit.js';
import { classifierTensors } from '../../daemon/config/model-check.js';
import { topK, type ScoredClass } from '../../classify/top-k.js';

/** Classifies images with a whole model on the CPU: the reference a pipeline's output is checked against. */
const classify: Command = {
  name: 'classify',
  summary: 'Classify images with a .tflite image classifier on the CPU',
  usage: 'coral-pipe classify --model MODEL --labels LABELS [--top-k K] [--json] IMAGE...',
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        model: { type: 'string' },
        labels: { type: 'string' },
        'top-k': { type: 'string', default: '3' },
        json: { type: 'boolean', default: false },
      },
    });
    if (!values.model) throw new UsageError('--model is required');
    if (!values.labels) throw new UsageError('--labels is required');
    if (positionals.length === 0) throw new UsageError('give at least one image');
    const k = Number(values['top-k']);
    if (!Number.isInteger(k) || k < 1) throw new UsageError(`--top-k must be a positive integer, got "${values['top-k']}"`);

    const labelsFile = await readLabels(values.labels);
    const modelBytes = await readInputFile(values.model, 'model');
    const engine = await aboutFile(values.model, () => loadCpuEngine(modelBytes));
    try {
      const { input, output, classes } = await aboutFile(values.model, () => classifierTensors(engine.inputs, engine.outputs));
      const { labels, note } = fitLabels(labelsFile, classes, values.labels);
      if (note !== undefined) process.stderr.write(`note: ${note}\n`);
      const results: { image: string; classes: ScoredClass[] }[] = [];
      for (const image of positionals) {
        const tensor = await imageToTensor(await readInputFile(image, 'image'), input, { source: image });
        const outputs = await engine.invoke({ [input.name]: tensor });
        const classes = topK(outputs[output.name]!, output, k, labels);
        results.push({ image, classes });
        if (!values.json) {
          process.stdout.write(`${image}:\n${classes.map((c) => `${formatClass(c, output.quantization !== undefined)}\n`).join('')}`);
        }
      }
      if (values.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
      return 0;
    } finally {
      await engine.dispose();
    }
  },
};
export default classify;

/** `286 Egyptian cat 0.741 (189)`: the raw value only where the output is quantized. */
function formatClass(c: ScoredClass, quantized: boolean): string {
  return `${c.index} ${c.label ?? '?'} ${c.score.toFixed(3)}${quantized ? ` (${c.raw})` : ''}`;
}
