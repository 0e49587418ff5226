/**
 * Chain analysis: how tensors flow through segments run in order, matched by name. Pure, so that the
 * runner (before it starts anything) and `coral-pipe check-chain` (on segment files) share one checker.
 *
 * Rules, decided here:
 * - Pipeline inputs: every tensor some segment reads that no earlier segment produces (a model input may
 *   be read first by a later segment, as in split_concat). If `modelInputs` is given, only those names
 *   may be unproduced; anything else is a missing link.
 * - Pipeline outputs: the last segment's outputs, plus outputs of earlier segments named in
 *   `modelOutputs` (a model head that finishes early). Any other output of a non-last segment that no
 *   later segment reads is an error: it is the usual sign of segments from different models or a
 *   missing segment (libcoral aborts the process on it).
 * - A tensor produced twice, read before it is produced (segments out of order), or seen with two
 *   different dtypes/shapes is an error.
 * Every problem found is listed in one ChainError, each naming the tensor and the segments.
 */
import type { TensorSpec } from '../../tensors/tensor.js';

export interface ChainSegment {
  /** How errors name the segment: a file name, or "segment 2". */
  readonly name: string;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
}

export interface ChainOptions {
  /** The whole model's input names, when known: unproduced tensors outside this list are errors. */
  readonly modelInputs?: readonly string[];
  /** The whole model's output names, when known: early outputs in this list become pipeline outputs. */
  readonly modelOutputs?: readonly string[];
}

/** Where one tensor comes from and goes to. Segment indices are 0-based. */
export interface TensorFlow {
  readonly spec: TensorSpec;
  /** The producing segment, or -1 for a pipeline input. */
  readonly producer: number;
  /** Segments that read it, ascending. */
  readonly consumers: readonly number[];
  /** True when the pipeline returns it. */
  readonly isOutput: boolean;
  /** The last segment that needs it held: its last consumer, or the segment count for an output. */
  readonly lastUse: number;
  /** Segments it is carried past without being read (between producer and last use). */
  readonly skips: readonly number[];
}

export interface SegmentFlow {
  readonly name: string;
  /** Tensors it reads and the segment each comes from (-1 = pipeline input). */
  readonly reads: readonly { readonly name: string; readonly from: number }[];
  readonly writes: readonly string[];
  /** Tensors alive after this segment runs, handed to the next segment or to the caller. */
  readonly handsOn: readonly string[];
}

export interface ChainAnalysis {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /** Every tensor, in the order first seen. */
  readonly tensors: ReadonlyMap<string, TensorFlow>;
  readonly segments: readonly SegmentFlow[];
}

export class ChainError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`broken segment chain: ${problems.join('; ')}`);
    this.name = 'ChainError';
  }
}

function sameSpec(a: TensorSpec, b: TensorSpec): boolean {
  return a.dtype === b.dtype && a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
}

const describeSpec = (s: TensorSpec) => `${s.dtype}[${s.shape.join('x')}]`;

interface Building {
  spec: TensorSpec;
  producer: number;
  consumers: number[];
  isOutput: boolean;
}

export function analyzeChain(segments: readonly ChainSegment[], options: ChainOptions = {}): ChainAnalysis {
  if (segments.length === 0) throw new ChainError(['no segments given']);
  const problems: string[] = [];
  const label = (i: number) => (segments[i]!.name === `segment ${i}` ? `segment ${i}` : `segment ${i} (${segments[i]!.name})`);
  const modelInputs = options.modelInputs ? new Set(options.modelInputs) : undefined;
  const modelOutputs = new Set(options.modelOutputs ?? []);
  const last = segments.length - 1;

  // Who produces what, over all segments, so that a read before the producer can be named as such.
  const producerOf = new Map<string, number>();
  segments.forEach((segment, i) => {
    for (const out of segment.outputs) {
      const earlier = producerOf.get(out.name);
      if (earlier !== undefined) problems.push(`tensor "${out.name}" is produced by both ${label(earlier)} and ${label(i)}`);
      else producerOf.set(out.name, i);
    }
  });

  const tensors = new Map<string, Building>();
  const inputs: TensorSpec[] = [];
  segments.forEach((segment, i) => {
    for (const input of segment.inputs) {
      let flow = tensors.get(input.name);
      if (!flow) {
        const producer = producerOf.get(input.name);
        if (producer !== undefined && producer >= i) {
          problems.push(
            producer === i
              ? `${label(i)} reads its own output "${input.name}"`
              : `${label(i)} reads "${input.name}", which only the later ${label(producer)} produces (segments out of order?)`,
          );
          continue;
        }
        if (modelInputs && !modelInputs.has(input.name)) {
          problems.push(`${label(i)} reads "${input.name}", which no earlier segment produces and is not a model input`);
          continue;
        }
        flow = { spec: input, producer: -1, consumers: [], isOutput: false };
        tensors.set(input.name, flow);
        inputs.push(input);
      } else if (!sameSpec(flow.spec, input)) {
        const from = flow.producer < 0 ? 'the pipeline input' : label(flow.producer);
        problems.push(
          `"${input.name}" is ${describeSpec(flow.spec)} from ${from} but ${label(i)} reads ${describeSpec(input)}`,
        );
      }
      flow.consumers.push(i);
    }
    for (const output of segment.outputs) {
      if (producerOf.get(output.name) !== i || tensors.has(output.name)) continue;
      tensors.set(output.name, { spec: output, producer: i, consumers: [], isOutput: i === last || modelOutputs.has(output.name) });
    }
  });

  for (const [name, flow] of tensors) {
    if (flow.producer >= 0 && flow.producer < last && flow.consumers.length === 0 && !flow.isOutput) {
      problems.push(
        `${label(flow.producer)} produces "${name}" but no later segment reads it (segments from different models, or one missing?)`,
      );
    }
  }
  for (const name of modelOutputs) {
    if (!producerOf.has(name)) problems.push(`model output "${name}" is produced by no segment`);
  }
  if (modelInputs) {
    for (const name of modelInputs) {
      if (!tensors.has(name)) problems.push(`model input "${name}" is read by no segment`);
    }
  }
  if (problems.length > 0) throw new ChainError(problems);

  const flows = new Map<string, TensorFlow>();
  for (const [name, t] of tensors) {
    const lastUse = t.isOutput ? segments.length : Math.max(...t.consumers);
    const skips: number[] = [];
    for (let s = t.producer + 1; s < Math.min(lastUse, segments.length); s++) if (!t.consumers.includes(s)) skips.push(s);
    flows.set(name, { spec: t.spec, producer: t.producer, consumers: t.consumers, isOutput: t.isOutput, lastUse, skips });
  }
  const alive = (name: string, after: number) => {
    const f = flows.get(name)!;
    return f.producer <= after && f.lastUse > after;
  };
  const all = [...flows.keys()];
  return {
    inputs,
    outputs: [...flows.values()].filter((f) => f.isOutput).map((f) => f.spec),
    tensors: flows,
    segments: segments.map((segment, i) => ({
      name: segment.name,
      reads: segment.inputs.map((t) => ({ name: t.name, from: flows.get(t.name)!.producer })),
      writes: segment.outputs.map((t) => t.name),
      handsOn: all.filter((name) => alive(name, i)),
    })),
  };
}
