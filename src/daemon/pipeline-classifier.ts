/**
 * The real FrameClassifier: the configured model, split into segments (or given as segment files),
 * in one PipelinedModelRunner; frames decoded and resized by sharp (libvips' thread pool, off the main
 * thread) into the model's input tensor; top-k with labels from the output tensor.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { Logger } from 'pino';
import { readLabels, type Labels } from '../classify/labels.js';
import { topK } from '../classify/top-k.js';
import type { NamedTensors, TensorSpec } from '../devices/engine.js';
import { ImageInputError, imageToTensor } from '../image/to-tensor.js';
import { readModel, writeModel } from '../model/index.js';
import { segmentModel } from '../model/segment/index.js';
import { engineTimer } from '../model/segment/engine-timer.js';
import { PipelinedModelRunner } from '../pipeline/runner.js';
import type { Classification, ClassifierFactory, ClassifierInfo, Crop, FrameClassifier } from './classifier.js';
import type { DaemonConfig } from './config-load.js';

/** The model in the config cannot be served (wrong kind of model, unsupported devices). */
export class ClassifierBuildError extends Error {
  override name = 'ClassifierBuildError';
}

interface Waiter {
  resolve(outputs: NamedTensors): void;
  reject(err: unknown): void;
}

/** The segment sources, and the bytes hashed to identify the model in results. */
async function segmentSources(config: DaemonConfig): Promise<{ sources: (string | Uint8Array)[]; hashed: Buffer[] }> {
  const m = config.model;
  if (m.segmentFiles !== undefined) {
    const files = await Promise.all(m.segmentFiles.map((f) => readFile(f)));
    return { sources: files.map((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength)), hashed: files };
  }
  const bytes = await readFile(m.file!);
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
  private readonly waiters: Waiter[] = [];
  /** Pushes in the order frames were handed over, so pops (FIFO) pair with their waiters. */
  private pushes: Promise<void> = Promise.resolve();
  private popping = false;

  constructor(
    readonly info: ClassifierInfo,
    private readonly runner: PipelinedModelRunner,
    private readonly input: TensorSpec,
    private readonly output: TensorSpec,
    private readonly labels: Labels | undefined,
    private readonly config: DaemonConfig,
  ) {}

  async classify(image: Buffer, crop?: Crop): Promise<Classification> {
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
      const top = topK(outputs[this.output.name]!, this.output, this.config.topK, this.labels)
        .filter((c) => c.score >= this.config.scoreThreshold)
        .map((c) => ({ index: c.index, label: c.label ?? `class ${c.index}`, score: Number(c.score.toFixed(4)) }));
      return { top, decodeMs: decoded - started, inferenceMs: inferred - decoded };
    } finally {
      this.runner.release(outputs);
    }
  }

  private infer(inputs: NamedTensors): Promise<NamedTensors> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      const push = this.pushes.then(() => this.runner.push(inputs));
      this.pushes = push.catch(() => undefined);
      push.catch((err: unknown) => this.failAll(err));
      void this.popLoop();
    });
  }

  /** One reader pops results in push order and hands each to its waiter. */
  private async popLoop(): Promise<void> {
    if (this.popping) return;
    this.popping = true;
    try {
      while (this.waiters.length > 0) {
        let outputs: NamedTensors | null;
        try {
          outputs = await this.runner.pop();
        } catch (err) {
          // A failed inference fails its own item only; a failed pipeline fails every later pop too.
          this.waiters.shift()?.reject(err);
          continue;
        }
        if (outputs === null) {
          this.failAll(new Error('pipeline closed'));
          break;
        }
        this.waiters.shift()!.resolve(outputs);
      }
    } finally {
      this.popping = false;
    }
  }

  private failAll(err: unknown): void {
    for (const waiter of this.waiters.splice(0)) waiter.reject(err);
  }

  stats(): Record<string, unknown> {
    const s = this.runner.stats();
    return {
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

  async close(): Promise<void> {
    await this.pushes;
    // Waits for the frames already pushed; their waiters get their outputs before close resolves.
    while (this.waiters.length > 0 || this.popping) await new Promise((r) => setTimeout(r, 5));
    await this.runner.close();
  }
}

export const createPipelineClassifier: ClassifierFactory = async (config: DaemonConfig, log: Logger) => {
  const devices = config.devices === 'auto' ? undefined : config.devices;
  const notCpu = devices?.flat().find((d) => !/^cpu(:\d+)?$/.test(d));
  if (notCpu !== undefined)
    throw new ClassifierBuildError(`device "${notCpu}": the daemon runs segments on cpu:N devices only so far; use devices: auto or cpu ids`);
  const { sources, hashed } = await segmentSources(config);
  const hash = createHash('sha256');
  for (const b of hashed) hash.update(b);
  const labels = config.model.labels === undefined ? undefined : await readLabels(config.model.labels);
  const runner = await PipelinedModelRunner.create(sources, {
    ...(devices && { devices }),
    // Enough room for every frame the daemon lets in at once.
    inputQueueLimit: Math.max(1, config.limits.queueDepth),
  });
  try {
    if (runner.inputs.length !== 1) throw new ClassifierBuildError(`the model takes ${runner.inputs.length} inputs; a classifier takes one image`);
    if (runner.outputs.length < 1) throw new ClassifierBuildError('the model has no outputs');
    const first = config.model.file ?? config.model.segmentFiles![0]!;
    const name = config.model.name ?? path.basename(first).replace(/(_segment_\d+_of_\d+)?(_edgetpu)?\.tflite$/, '');
    const info: ClassifierInfo = {
      model: { name, hash: hash.digest('hex').slice(0, 16) },
      segments: sources.length,
      devices: runner.stats().segments.map((s) => [...s.devices]),
    };
    log.info({ event: 'pipeline-built', model: name, segments: info.segments, devices: info.devices }, `pipeline built: ${name} in ${info.segments} segment(s)`);
    return new PipelineClassifier(info, runner, runner.inputs[0]!, runner.outputs[0]!, labels, config);
  } catch (err) {
    await runner.close();
    throw err;
  }
};
