/**
 * Whether the model a config names can serve as the daemon's classifier, found out before a pipeline is
 * built or replaces a working one: every file parses as a TFLite model; the model (or the chain of its
 * segment files) takes one image the frame converter can fill and gives a vector of class scores; each
 * segment has a device that runs it (an Edge TPU present for Edge TPU compiled ones, the CPU engine,
 * which has no custom ops, for the rest), placed as the daemon places them; the labels file fits the
 * output (labels-fit.ts). Only headers and graphs are read, nothing is run or measured, so that
 * check-config (run at every service start) stays fast. Each problem names the file and the config
 * line that names it.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fitLabels, type FittedLabels } from '../../classify/labels-fit.js';
import { LabelsError, readLabels } from '../../classify/labels.js';
import { classCount } from '../../classify/top-k.js';
import { cpuRefusal } from '../../devices/cpu-engine.js';
import type { TensorSpec } from '../../tensors/tensor.js';
import { checkImageInput, ImageInputError } from '../../image/to-tensor.js';
import { EDGETPU_CUSTOM_OP, isEdgeTpuCompiled, ModelFormatError, modelTensorSpecs, readModel, type Model } from '../../model/index.js';
import { checkSegmentModels } from '../../model/segment/check-files.js';
import { splitByParameters } from '../../model/segment/by-parameters.js';
import { SegmentationError } from '../../model/segment/errors.js';
import { executionOrder } from '../../model/segment/plan.js';
import { ChainError } from '../../model/segment/chain.js';
import { DeviceMismatchError, DevicePlacementError, runnerInput, type PlacementContext } from '../../devices/placement.js';
import { ConfigError, type ConfigProblem } from './config-error.js';
import type { DaemonConfig } from './config-load.js';

/** The model cannot serve as an image classifier: what it takes or gives is not an image and class scores. */
export class ClassifierModelError extends Error {
  override name = 'ClassifierModelError';
}

export interface ClassifierTensors {
  /** The image input. */
  readonly input: TensorSpec;
  /** The class scores: the first output (any others are not used). */
  readonly output: TensorSpec;
  /** How many classes `output` scores. */
  readonly classes: number;
}

/** The tensors a classifier uses among a model's inputs and outputs; ClassifierModelError when it cannot classify images. */
export function classifierTensors(inputs: readonly TensorSpec[], outputs: readonly TensorSpec[]): ClassifierTensors {
  const [input, output] = [inputs[0], outputs[0]];
  if (inputs.length !== 1 || !input) throw new ClassifierModelError(`the model takes ${inputs.length} inputs; a classifier takes one image`);
  if (!output) throw new ClassifierModelError('the model has no outputs');
  try {
    checkImageInput(input);
    return { input, output, classes: classCount(output) };
  } catch (err) {
    if (err instanceof ImageInputError || err instanceof RangeError) throw new ClassifierModelError(err.message, { cause: err });
    throw err;
  }
}

export interface CheckedModel extends ClassifierTensors {
  /** The files' bytes as read: model.file, or the segment files in order. */
  readonly files: readonly Buffer[];
  /** The labels file fitted to the output, when the config names one. */
  readonly labels?: FittedLabels;
}

/** One file the config names: its bytes and the field that names it. */
interface ModelFile {
  readonly field: string;
  readonly file: string;
  readonly bytes: Buffer;
  readonly model: Model;
}

/**
 * Reads and checks what `config.model` names (see the top of this file), placing segments on
 * `context.devices`, or on the devices enumerated now when absent; leases nothing. Throws ConfigError
 * listing every problem found.
 */
export async function checkModel(config: DaemonConfig, context: Pick<PlacementContext, 'devices' | 'enumerate'> = {}): Promise<CheckedModel> {
  const m = config.model;
  const problems: ConfigProblem[] = [];
  // A config made in code (not loaded from a file) may lack a place: the file is still named.
  const at = (field: string, message: string) =>
    problems.push({ ...(config.places[field] ?? { file: config.file, line: 0, column: 0, path: field }), message });
  const fail = () => new ConfigError(problems);

  const named = m.file !== undefined ? [{ field: 'model.file', file: m.file }] : m.segmentFiles!.map((file, i) => ({ field: `model.segmentFiles[${i}]`, file }));
  const files: ModelFile[] = [];
  for (const { field, file } of named) {
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (err) {
      at(field, `cannot read ${file}: ${(err as Error).message}`);
      continue;
    }
    try {
      files.push({ field, file, bytes, model: readModel(bytes) });
    } catch (err) {
      if (!(err instanceof ModelFormatError)) throw err;
      at(field, `${file}: ${err.message}`);
    }
  }
  if (problems.length > 0) throw fail();

  // The model's own tensors: the whole file's, or those of the chain its segment files make.
  const whole = m.file !== undefined ? files[0]! : undefined;
  const tensorsField = whole ? 'model.file' : 'model.segmentFiles';
  let specs: { inputs: readonly TensorSpec[]; outputs: readonly TensorSpec[] } | undefined;
  try {
    specs = whole ? modelTensorSpecs(whole.model) : checkSegmentModels(files.map((f) => f.file), files.map((f) => f.model)).chain;
  } catch (err) {
    if (!(err instanceof ChainError) && !(err instanceof SegmentationError)) throw err;
    at(tensorsField, err.message);
  }
  let tensors: ClassifierTensors | undefined;
  try {
    if (specs) tensors = classifierTensors(specs.inputs, specs.outputs);
  } catch (err) {
    if (!(err instanceof ClassifierModelError)) throw err;
    at(tensorsField, `${whole ? whole.file : 'the segment files'}: cannot serve as an image classifier: ${err.message}`);
  }

  const segments = m.segments ?? 1;
  if (whole && segments > 1) {
    try {
      splitByParameters(whole.model, executionOrder(whole.model), segments);
    } catch (err) {
      if (!(err instanceof SegmentationError) && !(err instanceof ModelFormatError)) throw err;
      at(m.layout === undefined ? 'model.segments' : 'model.layout', `${whole.file} cannot be cut into ${segments} segments: ${err.message}`);
    }
  }
  for (const f of files) {
    const refusal = isEdgeTpuCompiled(f.model) ? undefined : cpuRefusal(f.model);
    if (refusal !== undefined) at(f.field, `${f.file}: ${refusal}`);
  }
  await checkPlacement(config, files, segments, context, at);

  let labels: FittedLabels | undefined;
  if (m.labels !== undefined && tensors) {
    try {
      labels = fitLabels(await readLabels(m.labels), tensors.classes, m.labels);
    } catch (err) {
      if (!(err instanceof LabelsError)) throw err;
      at('model.labels', err.message);
    }
  }
  if (problems.length > 0 || !tensors) throw fail();
  return { ...tensors, files: files.map((f) => f.bytes), ...(labels && { labels }) };
}

/** Places the segments as the daemon would (runnerInput, without leasing), recording why it cannot. */
async function checkPlacement(
  config: DaemonConfig,
  files: readonly ModelFile[],
  segments: number,
  context: Pick<PlacementContext, 'devices' | 'enumerate'>,
  at: (field: string, message: string) => void,
): Promise<void> {
  // A whole model stands for each of its segments: cut, they hold its kind of operators.
  const toPlace = files.length > 1 ? files : Array.from({ length: segments }, () => files[0]!);
  try {
    await runnerInput(
      toPlace.map((f, i) => ({ name: `segment ${i} (${path.basename(f.file)})`, model: f.bytes })),
      config.devices,
      { devices: context.devices, enumerate: context.enumerate },
      config.model.replicas,
    );
  } catch (err) {
    if (!(err instanceof DevicePlacementError) && !(err instanceof DeviceMismatchError)) throw err;
    const edgeTpu = files.find((f) => isEdgeTpuCompiled(f.model));
    const why = edgeTpu ? `${edgeTpu.file} holds custom op "${EDGETPU_CUSTOM_OP}" (Edge TPU compiled) and needs an Edge TPU: ` : '';
    at(Array.isArray(config.devices) ? 'devices' : (edgeTpu ?? files[0]!).field, `${why}${err.message}`);
  }
}
