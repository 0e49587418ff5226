/**
 * Checks segments against their model: runs the whole model and the segments in order (tensors
 * matched by name, carried past segments that do not read them) on the same inputs, and compares every
 * model output byte for byte. Pipelining must not change a single bit.
 */
import type { Engine } from './engine.js';
import { type NamedTensors, type TensorData, type TensorSpec, bytesOf } from '../tensors/tensor.js';
import { openEngine } from './open-engine.js';
import { analyzeChain } from '../model/segment/chain.js';
import { randomTensor, seededRandom } from '../tensors/random-tensors.js';

export interface NamedSegment {
  /** How reports name it, e.g. the file name. */
  readonly name: string;
  readonly bytes: Uint8Array;
}

export interface LoadedSegment {
  readonly name: string;
  readonly engine: Engine;
}

export interface VerifyOptions {
  /** How many inputs to try (default 3). */
  readonly runs?: number;
  /** Seed of the random inputs (default 1). */
  readonly seed?: number;
  /** The input for run `run` of a model input; undefined means seeded random. */
  readonly input?: (spec: TensorSpec, run: number) => Promise<TensorData | undefined>;
  /** Opens a model; the CPU engine by default. */
  readonly open?: (bytes: Uint8Array, device: string) => Promise<Engine>;
}

export interface OutputDifference {
  readonly run: number;
  readonly tensor: string;
  /** Elements that differ, of `elements`. */
  readonly differing: number;
  readonly elements: number;
  readonly firstIndex: number;
  readonly expected: number | bigint;
  readonly actual: number | bigint;
}

export interface VerifyReport {
  readonly runs: number;
  readonly outputs: readonly string[];
  /** Per run, what each model input was: `image` (from `input`) or `random`. */
  readonly inputKinds: readonly ('image' | 'random')[];
  readonly differences: readonly OutputDifference[];
  readonly identical: boolean;
}

const openCpu = (bytes: Uint8Array, device: string) => openEngine({ kind: 'cpu', device, model: bytes });

/**
 * Runs `segments` in order on `inputs`; returns every tensor alive at the end (inputs included), by
 * name. A segment whose input is not there yet rejects, naming it.
 */
export async function runSegmentChain(segments: readonly LoadedSegment[], inputs: NamedTensors): Promise<NamedTensors> {
  const alive: NamedTensors = { ...inputs };
  for (const { name, engine } of segments) {
    const feed: NamedTensors = {};
    for (const spec of engine.inputs) {
      const data = alive[spec.name];
      if (data === undefined) throw new Error(`segment ${name} needs "${spec.name}", which nothing before it produced`);
      feed[spec.name] = data;
    }
    Object.assign(alive, await engine.invoke(feed));
  }
  return alive;
}

function compare(run: number, tensor: string, expected: TensorData, actual: TensorData | undefined): OutputDifference | undefined {
  if (actual === undefined) {
    return { run, tensor, differing: expected.length, elements: expected.length, firstIndex: 0, expected: expected[0] ?? 0, actual: Number.NaN };
  }
  const a = bytesOf(expected);
  const b = bytesOf(actual);
  if (a.length === b.length && Buffer.compare(a, b) === 0) return undefined;
  let differing = Math.abs(expected.length - actual.length);
  let firstIndex = -1;
  for (let i = 0; i < Math.min(expected.length, actual.length); i++) {
    if (!Object.is(expected[i], actual[i])) {
      differing++;
      if (firstIndex < 0) firstIndex = i;
    }
  }
  if (firstIndex < 0) firstIndex = Math.min(expected.length, actual.length);
  return { run, tensor, differing, elements: expected.length, firstIndex, expected: expected[firstIndex] ?? Number.NaN, actual: actual[firstIndex] ?? Number.NaN };
}

export async function verifySegments(model: Uint8Array, segments: readonly NamedSegment[], options: VerifyOptions = {}): Promise<VerifyReport> {
  const runs = options.runs ?? 3;
  const open = options.open ?? openCpu;
  const engines: Engine[] = [];
  try {
    const whole = await open(model, 'cpu:0');
    engines.push(whole);
    const loaded: LoadedSegment[] = [];
    for (const [i, s] of segments.entries()) {
      const engine = await open(s.bytes, `cpu:${i + 1}`);
      engines.push(engine);
      loaded.push({ name: s.name, engine });
    }
    // A broken chain gets the chain checker's error, naming the tensors and segments.
    analyzeChain(
      loaded.map((s) => ({ name: s.name, inputs: s.engine.inputs, outputs: s.engine.outputs })),
      { modelInputs: whole.inputs.map((t) => t.name), modelOutputs: whole.outputs.map((t) => t.name) },
    );
    const random = seededRandom(options.seed ?? 1);
    const differences: OutputDifference[] = [];
    const inputKinds: ('image' | 'random')[] = [];
    for (let run = 0; run < runs; run++) {
      const inputs: NamedTensors = {};
      let kind: 'image' | 'random' = 'random';
      for (const spec of whole.inputs) {
        const given = await options.input?.(spec, run);
        if (given !== undefined) kind = 'image';
        inputs[spec.name] = given ?? randomTensor(spec, random);
      }
      inputKinds.push(kind);
      const expected = await whole.invoke(inputs);
      const actual = await runSegmentChain(loaded, inputs);
      for (const spec of whole.outputs) {
        const difference = compare(run, spec.name, expected[spec.name]!, actual[spec.name]);
        if (difference) differences.push(difference);
      }
    }
    return { runs, outputs: whole.outputs.map((t) => t.name), inputKinds, differences, identical: differences.length === 0 };
  } finally {
    await Promise.allSettled(engines.map((e) => e.dispose()));
  }
}
