/**
 * `coral-pipe segment MODEL --num-segments N|auto [--strategy params|cut|latency] [--cut T1,T2] --out DIR`:
 * writes `<stem>_segment_<i>_of_<N>.tflite` files and prints what each segment holds.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { aboutFile, readInputFile } from '../cli-input.js';
import { readModel, writeModel } from '../../model/index.js';
import { parameterBytes } from '../../model/graph.js';
import {
  autoSegmentCount, executionOrder, modelStem, parseCuts, SEGMENT_STRATEGIES, segmentFileName, segmentModel,
  type SegmentRequest, type SegmentStrategy, type SegmentTarget, type Segmentation,
} from '../../model/segment/index.js';
import { engineTimer } from '../../devices/segment-timer.js';

const USAGE =
  'coral-pipe segment MODEL --out DIR [--num-segments N|auto] [--strategy params|cut|latency] [--cut T1,T2 ...]\n' +
  '       [--target cpu|edgetpu] [--cpu-devices K] [--repeats R] [--max-candidates M] [--gap RATIO]\n' +
  '       [--compile [--compiler PATH]] [--json]\n' +
  '  --cut: tensor names where segments end (comma separated or repeated); join tensors that must cross\n' +
  '         the same cut with "+".  --num-segments auto: ceil(parameter MiB / 6) for --target edgetpu,\n' +
  '         the CPU count (--cpu-devices) for --target cpu (the default unless --compile).\n' +
  '  latency: --repeats timed runs per candidate (5), --max-candidates (60), stop at --gap (0.05).';

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MiB`;

function positiveInt(value: string | undefined, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${option} must be a whole number ≥ 1, not "${value}"`);
  return n;
}

interface Written {
  readonly segmentation: Segmentation;
  readonly files: readonly string[];
  readonly compiled?: readonly string[];
}

function table(result: Written): string {
  const { segments } = result.segmentation;
  const latency = result.segmentation.latency;
  const header = ['segment', 'file', 'ops', 'parameters', 'edgetpu cache', 'inputs', 'outputs', ...(latency ? ['latency'] : [])];
  const rows = segments.map((s, i) => [
    String(s.index),
    path.basename(result.files[i]!),
    String(s.operators.length),
    `${s.parameterBytes} B (${mib(s.parameterBytes)})`,
    s.fitsEdgeTpuCache ? 'fits' : 'streams',
    String(s.inputs.length),
    String(s.outputs.length),
    ...(latency ? [`${latency.segmentMs[i]!.toFixed(2)} ms`] : []),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => cells.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd();
  const out = [line(header), ...rows.map(line), ''];
  for (const s of segments) {
    out.push(`segment ${s.index} inputs:  ${s.inputs.join(', ')}`);
    out.push(`segment ${s.index} outputs: ${s.outputs.join(', ')}`);
  }
  if (latency) {
    const mean = latency.segmentMs.reduce((a, b) => a + b, 0) / latency.segmentMs.length;
    out.push(
      '',
      `latency: slowest ${latency.upperBoundMs.toFixed(2)} ms, mean ${mean.toFixed(2)} ms, slowest/mean ${(latency.upperBoundMs / mean).toFixed(3)}; ` +
        `lower bound ${latency.lowerBoundMs.toFixed(2)} ms; ${latency.operatorsProfiled} operators profiled, ` +
        `${latency.candidatesMeasured} candidate segments measured; stopped: ${latency.stoppedBecause}`,
    );
  }
  if (result.compiled) out.push('', `compiled: ${result.compiled.map((f) => path.basename(f)).join(', ')}`);
  return `${out.join('\n')}\n`;
}

function json(result: Written): string {
  const { strategy, segments, latency } = result.segmentation;
  return `${JSON.stringify(
    {
      strategy,
      segments: segments.map((s, i) => ({
        index: s.index,
        file: result.files[i],
        operators: s.operators.length,
        parameterBytes: s.parameterBytes,
        fitsEdgeTpuCache: s.fitsEdgeTpuCache,
        inputs: s.inputs,
        outputs: s.outputs,
        ...(latency ? { latencyMs: latency.segmentMs[i] } : {}),
        ...(result.compiled ? { compiled: result.compiled[i] } : {}),
      })),
      ...(latency
        ? {
            latency: {
              segmentMs: latency.segmentMs,
              predictedMs: latency.predictedMs,
              lowerBoundMs: latency.lowerBoundMs,
              upperBoundMs: latency.upperBoundMs,
              operatorsProfiled: latency.operatorsProfiled,
              candidatesMeasured: latency.candidatesMeasured,
              stoppedBecause: latency.stoppedBecause,
            },
          }
        : {}),
    },
    null,
    2,
  )}\n`;
}

const command: Command = {
  name: 'segment',
  summary: 'Split a .tflite model into N segment files for pipelining (by parameters, at tensors, or by measured latency)',
  usage: USAGE,
  async run(argv) {
    const parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        'num-segments': { type: 'string', short: 'n' },
        strategy: { type: 'string' },
        cut: { type: 'string', multiple: true },
        out: { type: 'string', short: 'o' },
        target: { type: 'string' },
        'cpu-devices': { type: 'string' },
        repeats: { type: 'string' },
        'max-candidates': { type: 'string' },
        gap: { type: 'string' },
        compile: { type: 'boolean' },
        compiler: { type: 'string' },
        json: { type: 'boolean' },
      },
    });
    const { values, positionals } = parsed;
    if (positionals.length !== 1) throw new UsageError('give exactly one MODEL');
    if (!values.out) throw new UsageError('--out DIR is required');
    const cutSpecs = (values.cut ?? []).flatMap((c) => c.split(','));
    const strategy = (values.strategy ?? (cutSpecs.length > 0 ? 'cut' : 'params')) as SegmentStrategy;
    if (!SEGMENT_STRATEGIES.includes(strategy)) throw new UsageError(`unknown --strategy "${values.strategy}"; use ${SEGMENT_STRATEGIES.join(', ')}`);
    if (strategy !== 'cut' && cutSpecs.length > 0) throw new UsageError(`--cut goes with --strategy cut, not ${strategy}`);
    const target = (values.target ?? (values.compile ? 'edgetpu' : 'cpu')) as SegmentTarget;
    if (target !== 'cpu' && target !== 'edgetpu') throw new UsageError(`unknown --target "${values.target}"; use cpu or edgetpu`);
    const gap = values.gap === undefined ? undefined : Number(values.gap);
    if (gap !== undefined && !(gap >= 0 && gap < 1)) throw new UsageError(`--gap must be a ratio in [0, 1), not "${values.gap}"`);

    const modelFile = positionals[0]!;
    const bytes = await readInputFile(modelFile, 'model');
    const model = await aboutFile(modelFile, () => readModel(bytes));
    const order = await aboutFile(modelFile, () => executionOrder(model));

    let request: SegmentRequest;
    if (strategy === 'cut') {
      if (cutSpecs.length === 0) throw new UsageError('--strategy cut needs --cut TENSOR[,TENSOR...]');
      const cuts = parseCuts(cutSpecs);
      const n = values['num-segments'];
      if (n !== undefined && n !== 'auto' && Number(n) !== cuts.length + 1) {
        throw new UsageError(`${cuts.length} cuts make ${cuts.length + 1} segments, but --num-segments says ${n}`);
      }
      request = { strategy, cuts };
    } else {
      const n = values['num-segments'];
      if (n === undefined) throw new UsageError('--num-segments N (or auto) is required');
      let count: number;
      if (n === 'auto') {
        const subgraph = model.subgraphs[0]!;
        const total = order.reduce((sum, op) => sum + parameterBytes(model, subgraph, op), 0);
        count = autoSegmentCount(target, total, order.length, positiveInt(values['cpu-devices'], '--cpu-devices', os.availableParallelism()));
      } else {
        count = positiveInt(n, '--num-segments', 0);
      }
      request =
        strategy === 'params'
          ? { strategy, count }
          : {
              strategy,
              count,
              timer: engineTimer({ repeats: positiveInt(values.repeats, '--repeats', 5) }),
              maxCandidates: positiveInt(values['max-candidates'], '--max-candidates', 60),
              ...(gap !== undefined ? { gapRatio: gap } : {}),
            };
    }

    const segmentation = await aboutFile(modelFile, () => segmentModel(model, request));
    const count = segmentation.segments.length;
    const stem = modelStem(modelFile);
    await mkdir(values.out, { recursive: true });
    const files: string[] = [];
    for (const segment of segmentation.segments) {
      const file = path.join(values.out, segmentFileName(stem, segment.index, count));
      await writeFile(file, writeModel(segment.model));
      files.push(file);
    }
    let compiled: string[] | undefined;
    if (values.compile) {
      const { compileSegments } = await import('../../model/compile.js');
      const results = await compileSegments(files, { outDir: values.out, stem, ...(values.compiler ? { compiler: values.compiler } : {}) });
      compiled = results.map((r) => r.output);
    }
    const result: Written = { segmentation, files, ...(compiled ? { compiled } : {}) };
    process.stdout.write(values.json ? json(result) : table(result));
    return 0;
  },
};

export default command;
