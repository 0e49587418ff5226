/**
 * The real FrameClassifier: the configured model, split into segments (or given as segment files),
 * in one PipelinedModelRunner; frames decoded and resized by sharp (libvips' thread pool, off the main
 * thread) into the model's input tensor; top-k with labels from the output tensor.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import sharp from 'sharp';
import type { Logger } from 'pino';
import type { Labels } from '../../classify/labels.js';
import { topK } from '../../classify/top-k.js';
import type { NamedTensors, TensorSpec } from '../../tensors/tensor.js';
import { ImageInputError, imageToTensor } from '../../image/to-tensor.js';
import { readModel, writeModel } from '../../model/index.js';
import { segmentModel } from '../../model/segment/index.js';
import { engineTimer } from '../../devices/segment-timer.js';
import { describeDevice, deviceTypeOf, type Device, type DeviceHealth } from '../../devices/device.js';
import { probePci } from '../../devices/pci-probe.js';
import { runnerInput } from '../../pipeline/runner-input.js';
import { PipelineClosedError, PipelineFailedError, SegmentInvokeError } from '../../pipeline/errors.js';
import { PipelinedModelRunner } from '../../pipeline/runner.js';
import { InferenceError, PipelineDownError, type BuildContext, type FrameResult, type ClassifierFactory, type ClassifierInfo, type Crop, type FrameClassifier } from './classifier.js';
import type { DaemonConfig } from '../config/config-load.js';
import { classifierTensors, checkModel } from '../config/model-check.js';
import { queueDepthFor } from './queue-depth.js';

/** The segments' bytes from the files `config.model` names (as checkModel read them), and the bytes hashed to identify the model in results. */
async function segmentSources(config: DaemonConfig, files: readonly Buffer[]): Promise<{ sources: Uint8Array[]; hashed: readonly Buffer[] }> {
  const m = config.model;
  if (m.segmentFiles !== undefined) return { sources: files.map((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength)), hashed: files };
  const bytes = files[0]!;
  const whole = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = m.segments ?? 1;
  if (count === 1) return { sources: [whole], hashed: [bytes] };
  const model = readModel(whole);
  // latency measures candidate segments on the CPU engine, as `coral-pipe segment --strategy latency` does.
  const { segments } = await segmentModel(
    model,
    m.strategy === 'latency' ? { strategy: 'latency', count, timer: engineTimer() } : { strategy: 'params', count },
  );
  return { sources: segments.map((s) => writeModel(s.model)), hashed: [bytes] };
}

class PipelineClassifier implements FrameClassifier {
  /** classify calls not yet finished (decoding ones included), and who waits for them to end. */
  private active = 0;
  private idle: (() => void)[] = [];

  /** Health of the Edge TPUs in use (PCIe ones refreshed with every stats call, for temperature). */
  private readonly health = new Map<string, DeviceHealth>();
  /** When stats() last ran and each device's engine time then: busy fractions are over the time between. */
  private lastStats = { at: performance.now(), busyMs: new Map<string, number>() };

  constructor(
    readonly info: ClassifierInfo,
    private readonly runner: PipelinedModelRunner,
    private readonly input: TensorSpec,
    private readonly output: TensorSpec,
    private readonly labels: Labels | undefined,
    private readonly config: DaemonConfig,
    edgeTpus: readonly Device[],
  ) {
    for (const d of edgeTpus) this.health.set(d.id, d.health);
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
    const s = this.runner.stats();
    void this.refreshHealth();
    const now = performance.now();
    const elapsed = Math.max(now - this.lastStats.at, 1e-3);
    const busyMs = new Map<string, number>();
    const devices: Record<string, Record<string, unknown>> = {};
    for (const [segment, seg] of s.segments.entries()) {
      for (const e of seg.executors) {
        busyMs.set(e.device, e.busyMsTotal);
        const busy = (e.busyMsTotal - (this.lastStats.busyMs.get(e.device) ?? 0)) / elapsed;
        const { problems, ...health } = this.health.get(e.device) ?? { problems: [] };
        devices[e.device] = { segment, invokes: e.count, failures: e.failures, busyFraction: Number(Math.min(1, busy).toFixed(3)), ...health, ...(problems.length > 0 && { problems }) };
      }
    }
    this.lastStats = { at: now, busyMs };
    return {
      devices,
      inFlight: s.inFlight,
      latencyMsP50: s.latencyMsP50,
      latencyMsP99: s.latencyMsP99,
      segments: s.segments.map((seg) => ({
        name: seg.name,
        devices: seg.devices,
        count: seg.count,
        failures: seg.failures,
        busyMsMean: Number(seg.busyMsMean.toFixed(3)),
        latencyMsP50: seg.latencyMsP50,
        latencyMsP99: seg.latencyMsP99,
        queueDepth: seg.queueDepth,
      })),
    };
  }

  private async refreshHealth(): Promise<void> {
    if (![...this.health.keys()].some((id) => id.startsWith('pci:'))) return;
    for (const device of await probePci().catch(() => [])) if (this.health.has(device.id)) this.health.set(device.id, device.health);
  }

  /** Waits for every frame handed over (still decoding or in the pipeline) to be answered, then frees the pipeline. */
  async close(): Promise<void> {
    if (this.active > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
    await this.runner.close();
  }
}

function strategyOf(config: DaemonConfig): NonNullable<ClassifierInfo['strategy']> {
  const m = config.model;
  if (m.segmentFiles !== undefined) return 'files';
  return (m.segments ?? 1) === 1 ? 'whole' : (m.strategy ?? 'params');
}

/** What identifies the model in results and logs. */
export interface ServedModel {
  readonly name: string;
  readonly hash: string;
  readonly labels?: Labels;
  /** How the labels file was fitted to the output when not one label per output (labels-fit.ts), logged at build. */
  readonly labelsNote?: string;
  /** The Edge TPUs in use, for health in stats. */
  readonly edgeTpus?: readonly Device[];
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
  const hash = createHash('sha256');
  for (const b of hashed) hash.update(b);
  const input = await runnerInput(sources.map((model, i) => ({ name: `segment ${i}`, model })), config.devices, context);
  const runner = await PipelinedModelRunner.create(input.segments, {
    ...(input.devices && { devices: input.devices }),
    // Enough room for every frame the daemon lets in at once.
    inputQueueLimit: queueDepthFor(config.limits, sources.length),
  });
  const first = config.model.file ?? config.model.segmentFiles![0]!;
  const name = config.model.name ?? path.basename(first).replace(/(_segment_\d+_of_\d+)?(_edgetpu)?\.tflite$/, '');
  return classifierOverRunner(runner, config, log, {
    name,
    hash: hash.digest('hex').slice(0, 16),
    ...(checked.labels && { labels: checked.labels.labels }),
    ...(checked.labels?.note !== undefined && { labelsNote: checked.labels.note }),
    edgeTpus: input.edgeTpus,
  });
};
