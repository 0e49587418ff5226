/**
 * Where a layout's segment models come from, by target: cut in memory for CPU executors; for Edge TPUs
 * cut by parameters and compiled with `edgetpu_compiler`, or taken from compiled sets already on disk
 * (`<stem>_edgetpu.tflite`, `<stem>_segment_<i>_of_<N>_edgetpu.tflite`). A layout that cannot be had
 * comes back as the reason, for tune to print. Each cut is made once and reused by the mixes.
 */
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { compileSegments } from '../model/compile.js';
import { isEdgeTpuCompiled, parameterBytes } from '../model/graph.js';
import { readModel } from '../model/read-model.js';
import { EDGETPU_CACHE_BYTES, parseSegmentFileName, segmentFileName, segmentModel } from '../model/segment/index.js';
import { modelTensorSpecs } from '../model/tensor-spec.js';
import type { Model } from '../model/types.js';
import { writeModel } from '../model/write-model.js';
import { engineTimer } from '../devices/segment-timer.js';
import type { SegmentToPlace } from '../devices/placement.js';
import type { TensorSpec } from '../tensors/tensor.js';
import type { Layout } from '../pipeline/layout.js';

export interface LayoutSegments {
  readonly segments: readonly SegmentToPlace[];
  /** Per segment, whether its parameters fit the Edge TPU's on-chip cache; undefined where unknown. */
  readonly fitsOnChip: readonly (boolean | undefined)[];
  /** Bytes of parameters the compiler streams from the host, in all; where edgetpu_compiler said. */
  readonly offChipBytes?: number;
  /** Compiled segment files on disk, which a daemon config names as `model.segmentFiles`. */
  readonly files?: readonly string[];
}

export type Prepared = LayoutSegments | { readonly skip: string };

export interface SegmentSupply {
  /** The model's inputs: every layout takes the same ones. */
  readonly inputs: readonly TensorSpec[];
  /** What the segments are, from the caller's point of view (for the report). */
  readonly source: string;
  prepare(layout: Layout): Promise<Prepared>;
}

/** Latency cuts for Edge TPUs would need each candidate segment compiled and timed on an Edge TPU. */
export const NO_EDGETPU_LATENCY_CUT =
  'a latency cut for Edge TPUs needs every candidate segment compiled and timed on an Edge TPU (libcoral\'s profiling partitioner); tune cuts Edge TPU segments by parameters, as edgetpu_compiler --num_segments does';

const named = (models: readonly Uint8Array[], names?: readonly string[]): SegmentToPlace[] =>
  models.map((model, i) => ({ name: `segment ${i}${names ? ` (${path.basename(names[i]!)})` : ''}`, model }));

/** Cut results by `strategy:count`, made on first use. */
function memo<T>(make: (layout: Layout) => Promise<T>): (layout: Layout) => Promise<T> {
  const made = new Map<string, Promise<T>>();
  return (layout) => {
    const key = `${layout.strategy ?? 'whole'}:${layout.replicas.length}`;
    let result = made.get(key);
    if (!result) made.set(key, (result = make(layout)));
    return result;
  };
}

const wholeModelFits = (model: Model): boolean => {
  const [main] = model.subgraphs;
  const total = main!.operators.reduce((n, _, i) => n + parameterBytes(model, main!, i), 0);
  return total <= EDGETPU_CACHE_BYTES;
};

/** The model cut in memory for CPU executors; the fit is what the cut's parameter bytes say. */
export function cpuCuts(model: Uint8Array, file: string): SegmentSupply {
  const parsed = readModel(model);
  return {
    inputs: modelTensorSpecs(parsed).inputs,
    source: `${path.basename(file)}, cut in memory`,
    prepare: memo(async (layout) => {
      const count = layout.replicas.length;
      if (count === 1) return { segments: named([model]), fitsOnChip: [wholeModelFits(parsed)] };
      const request = layout.strategy === 'latency' ? { strategy: 'latency' as const, count, timer: engineTimer() } : { strategy: 'params' as const, count };
      const { segments } = await segmentModel(parsed, request);
      return { segments: named(segments.map((s) => writeModel(s.model))), fitsOnChip: segments.map((s) => s.fitsEdgeTpuCache) };
    }),
  };
}

export interface CompileSupplyOptions {
  readonly compiler: string;
  /** Where the cut and compiled files go (one folder per segment count). */
  readonly workDir: string;
}

/**
 * The model cut by parameters and each cut compiled for the Edge TPU; a segment fits when the compiler
 * streams none of its parameters from the host.
 */
export function compiledCuts(model: Uint8Array, file: string, options: CompileSupplyOptions): SegmentSupply {
  const parsed = readModel(model);
  const stem = path.basename(file).replace(/\.tflite$/i, '');
  return {
    inputs: modelTensorSpecs(parsed).inputs,
    source: `${path.basename(file)}, cut and compiled by ${options.compiler}`,
    prepare: memo(async (layout) => {
      if (layout.strategy === 'latency') return { skip: NO_EDGETPU_LATENCY_CUT };
      const count = layout.replicas.length;
      const dir = path.join(options.workDir, `${count}`);
      await mkdir(dir, { recursive: true });
      const cut = count === 1 ? [model] : (await segmentModel(parsed, { strategy: 'params', count })).segments.map((s) => writeModel(s.model));
      const sources = cut.map((_, i) => path.join(dir, segmentFileName(stem, i, count)));
      await Promise.all(cut.map((bytes, i) => writeFile(sources[i]!, bytes)));
      const compiled = await compileSegments(sources, { compiler: options.compiler, outDir: dir, stem });
      // The whole model compiled is named as the compiler names it, not as a segment of one.
      const files = count === 1 ? [path.join(dir, `${stem}_edgetpu.tflite`)] : compiled.map((c) => c.output);
      if (count === 1) await rename(compiled[0]!.output, files[0]!);
      const models = await Promise.all(files.map(async (f) => new Uint8Array(await readFile(f))));
      const reported = compiled.every((c) => c.offChipBytes !== undefined);
      return {
        segments: named(models, files),
        files,
        fitsOnChip: compiled.map((c) => (c.offChipBytes === undefined ? undefined : c.offChipBytes === 0)),
        ...(reported && { offChipBytes: compiled.reduce((n, c) => n + c.offChipBytes!, 0) }),
      };
    }),
  };
}

/** Compiled files by segment count (1: the whole model), found in `dirs` for `stem`. */
async function findCompiledSets(stem: string, dirs: readonly string[]): Promise<Map<number, string[]>> {
  const sets = new Map<number, string[]>();
  for (const dir of dirs) {
    for (const name of await readdir(dir)) {
      if (sets.get(1) === undefined && name === `${stem}_edgetpu.tflite`) sets.set(1, [path.join(dir, name)]);
      const parsed = parseSegmentFileName(name);
      if (!parsed || parsed.stem !== stem || !name.endsWith('_edgetpu.tflite') || parsed.count === 1) continue;
      const files = sets.get(parsed.count) ?? Array<string>(parsed.count);
      files[parsed.index] ??= path.join(dir, name);
      sets.set(parsed.count, files);
    }
  }
  return sets;
}

/**
 * Compiled sets already on disk, for Edge TPUs when no compiler is at hand: the layouts whose segment
 * count has a complete set are measured, the others say which files they would need. `file` is a
 * compiled model or segment; its stem names the sets, looked for beside it and in `dirs`.
 */
export async function compiledSets(file: string, dirs: readonly string[]): Promise<SegmentSupply> {
  const name = path.basename(file);
  const stem = parseSegmentFileName(name)?.stem ?? name.replace(/_edgetpu\.tflite$/i, '').replace(/\.tflite$/i, '');
  const where = [...new Set([path.dirname(file), ...dirs].map((d) => path.resolve(d)))];
  const sets = await findCompiledSets(stem, where);
  const complete = [...sets.entries()].filter(([count, files]) => files.filter(Boolean).length === count).sort(([a], [b]) => a - b);
  if (complete.length === 0) {
    throw new Error(`no complete compiled set for ${stem} in ${where.join(', ')}: tune needs ${stem}_edgetpu.tflite or ${stem}_segment_<i>_of_<N>_edgetpu.tflite files (edgetpu_compiler --num_segments N), or edgetpu_compiler on PATH to compile ${stem}.tflite itself`);
  }
  const first = readModel(await readFile(complete[0]![1][0]!));
  if (!isEdgeTpuCompiled(first)) throw new Error(`${complete[0]![1][0]} holds no edgetpu-custom-op: it is not compiled for the Edge TPU`);
  return {
    inputs: modelTensorSpecs(first).inputs,
    source: `compiled sets of ${stem} in ${where.join(', ')} (${complete.map(([n]) => (n === 1 ? 'whole' : `${n} segments`)).join(', ')})`,
    prepare: memo(async (layout) => {
      if (layout.strategy === 'latency') return { skip: NO_EDGETPU_LATENCY_CUT };
      const count = layout.replicas.length;
      const files = sets.get(count);
      if (!files || files.filter(Boolean).length !== count) {
        const wanted = count === 1 ? `${stem}_edgetpu.tflite` : `${stem}_segment_<0..${count - 1}>_of_${count}_edgetpu.tflite`;
        return { skip: `no compiled ${wanted} in ${where.join(', ')} (edgetpu_compiler${count === 1 ? '' : ` --num_segments ${count}`} makes it)` };
      }
      const models = await Promise.all(files.map(async (f) => new Uint8Array(await readFile(f))));
      // Whether a compiled segment streams parameters is in the compiler's log, not in the file.
      return { segments: named(models, files), files, fitsOnChip: files.map(() => undefined) };
    }),
  };
}
