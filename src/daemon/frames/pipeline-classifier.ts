/**
 * The real FrameClassifier: the configured model (served-model.ts) in one PipelinedModelRunner; a
 * frame is decoded and resized by sharp (libvips' thread pool, off the main thread) into the model's
 * input tensor, run, and its output turned into top-k with labels. Its stats: pipeline-stats.ts.
 */
import sharp from 'sharp';
import type { Logger } from 'pino';
import type { Labels } from '../../classify/labels.js';
import { topK } from '../../classify/top-k.js';
import type { NamedTensors, TensorSpec } from '../../tensors/tensor.js';
import { ImageInputError, imageToTensor } from '../../image/to-tensor.js';
import { describeDevice, deviceTypeOf, type Device } from '../../devices/device.js';
import { runnerInput } from '../../devices/placement.js';
import { PipelineClosedError, PipelineFailedError, SegmentInvokeError } from '../../pipeline/errors.js';
import { PipelinedModelRunner } from '../../pipeline/runner.js';
import { InferenceError, PipelineDownError, type BuildContext, type FrameResult, type ClassifierFactory, type ClassifierInfo, type Crop, type FrameClassifier } from './classifier.js';
import type { DaemonConfig } from '../config/config-load.js';
import { classifierTensors, checkModel } from '../config/model-check.js';
import { PipelineStatsReporter } from './pipeline-stats.js';
import { queueDepthFor } from './queue-depth.js';
import { modelIdentity, segmentSources, strategyOf, type ServedModel } from './served-model.js';

class PipelineClassifier implements FrameClassifier {
  /** classify calls not yet finished (decoding ones included), and who waits for them to end. */
  private active = 0;
  private idle: (() => void)[] = [];

  private readonly reporter: PipelineStatsReporter;

  constructor(
    readonly info: ClassifierInfo,
    private readonly runner: PipelinedModelRunner,
    private readonly input: TensorSpec,
    private readonly output: TensorSpec,
    private readonly labels: Labels | undefined,
    private readonly config: DaemonConfig,
    edgeTpus: readonly Device[],
  ) {
    this.reporter = new PipelineStatsReporter(edgeTpus);
  }

  async classify(image: Buffer, crop?: Crop): Promise<FrameResult> {
    this.active++;
    try {
      return await this.run(image, crop);
    } finally {
      if (--this.active === 0) for (const wake of this.idle.splice(0)) wake();
    }
  }

  private async run(image: Buffer, crop?: Crop): Promise<FrameResult> {
    const started = performance.now();
    const maxPixels = this.config.limits.maxImagePixels;
    let bytes: Uint8Array = image;
    if (crop !== undefined) {
      try {
        // imageToTensor takes encoded bytes; a lossless, uncompressed PNG of the region keeps it exact.
        bytes = await sharp(image, { limitInputPixels: maxPixels, failOn: 'error' })
          .extract({ left: crop.x, top: crop.y, width: crop.width, height: crop.height })
          .png({ compressionLevel: 0 })
          .toBuffer();
      } catch (err) {
        throw new ImageInputError(`cannot crop to ${crop.width}x${crop.height}+${crop.x}+${crop.y}: ${(err as Error).message}`, { cause: err });
      }
    }
    const tensor = await imageToTensor(bytes, this.input, { maxPixels, source: 'frame' });
    const decoded = performance.now();
    const outputs = await this.infer({ [this.input.name]: tensor });
    const inferred = performance.now();
    try {
      // A class scored 0 (as published, rounded) was not seen at all, whatever scoreThreshold allows.
      const top = topK(outputs[this.output.name]!, this.output, this.config.topK, this.labels)
        .filter((c) => c.score >= this.config.scoreThreshold)
        .map((c) => ({ index: c.index, label: c.label ?? `class ${c.index}`, score: Number(c.score.toFixed(4)) }))
        .filter((c) => c.score > 0);
      return { top, decodeMs: decoded - started, inferenceMs: inferred - decoded };
    } finally {
      this.runner.release(outputs);
    }
  }

  /** One inference; the pipeline's errors become the classifier's own kinds. */
  private async infer(inputs: NamedTensors): Promise<NamedTensors> {
    try {
      return await this.runner.run(inputs);
    } catch (err) {
      if (err instanceof PipelineFailedError) throw new PipelineDownError(err.message, err.segment, err.device, { cause: err });
      if (err instanceof PipelineClosedError) throw new PipelineDownError(`pipeline closed: ${err.message}`, undefined, undefined, { cause: err });
      if (err instanceof SegmentInvokeError) throw new InferenceError(err.message, err.segment, err.device, { cause: err });
      throw err;
    }
  }

  stats(): Record<string, unknown> {
    return this.reporter.report(this.runner.stats());
  }

  /** Waits for every frame handed over (still decoding or in the pipeline) to be answered, then frees the pipeline. */
  async close(): Promise<void> {
    if (this.active > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
    await this.runner.close();
  }
}

/**
 * A FrameClassifier over a runner that is already built (it owns the runner from here on, closing it
 * if the model does not suit a classifier). Split from the factory so that tests can serve frames
 * through a runner with injected faults.
 */
export async function classifierOverRunner(runner: PipelinedModelRunner, config: DaemonConfig, log: Logger, model: ServedModel): Promise<FrameClassifier> {
  try {
    const { input, output } = classifierTensors(runner.inputs, runner.outputs);
    const stats = runner.stats();
    const info: ClassifierInfo = {
      model: { name: model.name, hash: model.hash },
      segments: stats.segments.length,
      devices: stats.segments.map((s) => [...s.devices]),
      strategy: strategyOf(config),
      layout: runner.chain.segments.map((seg, i, all) => ({
        reads: seg.reads.map((r) => r.name),
        writes: seg.writes,
        handsOn: i < all.length - 1 ? seg.handsOn : [],
      })),
      hardware: Object.fromEntries(stats.segments.flatMap((s) => s.devices).map((id) => {
        const tpu = model.edgeTpus?.find((d) => d.id === id);
        return [id, tpu ? describeDevice(tpu) : { type: deviceTypeOf(id) }];
      })),
    };
    log.info({ event: 'pipeline-built', model: model.name, segments: info.segments, devices: info.devices }, `pipeline built: ${model.name} in ${info.segments} segment(s)`);
    if (model.labels === undefined) log.warn({ event: 'no-labels', model: model.name }, 'no labels file set (model.labels): results will say "class N"');
    if (model.labelsNote !== undefined) log.info({ event: 'labels-offset', model: model.name }, model.labelsNote);
    return new PipelineClassifier(info, runner, input, output, model.labels, config, model.edgeTpus ?? []);
  } catch (err) {
    await runner.close();
    throw err;
  }
}

export const createPipelineClassifier: ClassifierFactory = async (config: DaemonConfig, log: Logger, context: BuildContext = {}) => {
  // Before anything is built: a model that cannot serve is refused with its config line, and a reload keeps the old pipeline.
  const checked = await checkModel(config, { devices: context.devices });
  const { sources, hashed } = await segmentSources(config, checked.files);
  const input = await runnerInput(sources.map((model, i) => ({ name: `segment ${i}`, model })), config.devices, context, config.model.replicas);
  const runner = await PipelinedModelRunner.create(input.segments, {
    ...(input.devices && { devices: input.devices }),
    ...(input.replicas && { replicas: input.replicas }),
    // Enough room for every frame the daemon lets in at once.
    inputQueueLimit: queueDepthFor(config.limits, sources.length),
  });
  return classifierOverRunner(runner, config, log, {
    ...modelIdentity(config, hashed),
    ...(checked.labels && { labels: checked.labels.labels }),
    ...(checked.labels?.note !== undefined && { labelsNote: checked.labels.note }),
    edgeTpus: input.edgeTpus,
  });
};
