/**
 * Checks that segment files form one chain: the tensor flow by name (through the pipeline's own chain
 * analysis), plus what the files say of themselves (our segment metadata, or the `_segment_<i>_of_<N>`
 * names edgetpu_compiler gives), which catches what tensors alone cannot: a missing last segment,
 * files from another split of the same model.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { analyzeChain, ChainError, type ChainAnalysis, type ChainSegment } from './chain.js';
import { ModelFormatError } from '../errors.js';
import { readModel } from '../read-model.js';
import type { Model } from '../types.js';
import { parseSegmentFileName } from './naming.js';
import { readSegmentInfo, type SegmentInfo } from './segment-info.js';
import { modelTensorSpecs } from '../tensor-spec.js';

export interface SegmentFileCheck {
  readonly files: readonly string[];
  readonly chain: ChainAnalysis;
  /** Whole-model outputs named by our segment metadata, when the files carry it. */
  readonly modelOutputs?: readonly string[];
}

interface Position {
  readonly file: string;
  readonly stem?: string;
  readonly index: number;
  readonly count: number;
}

/** Problems with the declared positions of the files (given in pipeline order). */
function positionProblems(positions: readonly (Position | undefined)[]): string[] {
  const known = positions.filter((p): p is Position => p !== undefined);
  if (known.length === 0) return [];
  const problems: string[] = [];
  const stems = [...new Set(known.map((p) => p.stem).filter((s) => s !== undefined))];
  if (stems.length > 1) problems.push(`the files come from different models: ${stems.map((s) => `"${s}"`).join(', ')}`);
  const counts = [...new Set(known.map((p) => p.count))];
  if (counts.length > 1) {
    problems.push(`the files come from different splits: ${known.map((p) => `${path.basename(p.file)} is ${p.index} of ${p.count}`).join(', ')}`);
  } else {
    const count = counts[0]!;
    const present = new Set(known.map((p) => p.index));
    const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !present.has(i));
    if (missing.length > 0 && known.length === positions.length) problems.push(`segment${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of ${count} missing`);
    positions.forEach((p, i) => {
      if (p && p.index !== i && known.length === positions.length && missing.length === 0) {
        problems.push(`${path.basename(p.file)} is segment ${p.index} but was given in place ${i} (segments out of order)`);
      }
    });
  }
  return problems;
}

function positionOf(file: string, info: SegmentInfo | undefined): Position | undefined {
  const named = parseSegmentFileName(file);
  if (info) return { file, index: info.index, count: info.count, ...(named ? { stem: named.stem } : {}) };
  return named ? { file, ...named } : undefined;
}

/** Reads the files, in pipeline order, and checks them; throws ChainError listing every problem. */
export async function checkSegmentFiles(files: readonly string[]): Promise<SegmentFileCheck> {
  if (files.length === 0) throw new ChainError(['no segment files given']);
  const models: Model[] = [];
  for (const file of files) {
    try {
      models.push(readModel(await readFile(file)));
    } catch (err) {
      // Say which file: the codec's error only knows the place inside it.
      if (err instanceof ModelFormatError) throw new ModelFormatError(err.problem, `${file}: ${err.where}`, { cause: err });
      throw err;
    }
  }
  return checkSegmentModels(files, models);
}

/** checkSegmentFiles for files already read: `models[i]` is parsed from `files[i]`. */
export function checkSegmentModels(files: readonly string[], models: readonly Model[]): SegmentFileCheck {
  const segments: ChainSegment[] = [];
  const positions: (Position | undefined)[] = [];
  const modelOutputs = new Set<string>();
  let carriesInfo = false;
  for (const [i, file] of files.entries()) {
    const model = models[i]!;
    const info = readSegmentInfo(model);
    if (info) {
      carriesInfo = true;
      for (const name of info.modelOutputs) modelOutputs.add(name);
    }
    positions.push(positionOf(file, info));
    segments.push({ name: path.basename(file), ...modelTensorSpecs(model) });
  }
  const declared = positionProblems(positions);
  let chain: ChainAnalysis;
  try {
    chain = analyzeChain(segments, carriesInfo ? { modelOutputs: [...modelOutputs] } : {});
  } catch (err) {
    if (err instanceof ChainError) throw new ChainError([...err.problems, ...declared]);
    throw err;
  }
  if (declared.length > 0) {
    // Tensors a later segment reads that no given segment makes passed as pipeline inputs; with a
    // segment missing, they are what it would have made.
    const unmade = [...chain.tensors]
      .filter(([, f]) => f.producer < 0 && f.consumers[0]! > 0)
      .map(([name, f]) => `segment ${f.consumers[0]} (${segments[f.consumers[0]!]!.name}) reads "${name}", which no given segment produces`);
    throw new ChainError([...unmade, ...declared]);
  }
  return { files, chain, ...(carriesInfo ? { modelOutputs: [...modelOutputs] } : {}) };
}
