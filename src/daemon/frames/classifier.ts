/**
 * What the daemon needs from a model: bytes of one frame in, top-k out. The real one runs sharp and a
 * PipelinedModelRunner; tests use a fake. One instance serves every camera; a config reload builds a
 * new one beside the old and closes the old once its frames are answered.
 */
import type { Logger } from 'pino';
import type { Device, DeviceDescription } from '../../devices/device.js';
import type { DaemonConfig } from '../config/config-load.js';

export interface Crop {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface Prediction {
  readonly index: number;
  readonly label: string;
  readonly score: number;
}

export interface FrameResult {
  readonly top: readonly Prediction[];
  /** Decode, crop, resize and conversion time. */
  readonly decodeMs: number;
  /** Time in the pipeline. */
  readonly inferenceMs: number;
}

/** One segment as served: the tensors it reads and writes. */
export interface SegmentLayout {
  readonly reads: readonly string[];
  readonly writes: readonly string[];
  /** Tensors alive after it runs, handed to the next segment: the cut after it (empty for the last). */
  readonly handsOn: readonly string[];
}

export interface ClassifierInfo {
  readonly model: { readonly name: string; readonly hash: string };
  readonly segments: number;
  /** Device ids per segment (more than one = replicas). */
  readonly devices: readonly (readonly string[])[];
  /** How the model was cut: by the daemon (`params`, `latency`), given as segment `files`, or `whole`. */
  readonly strategy?: 'params' | 'latency' | 'files' | 'whole';
  /** Per segment, in order. */
  readonly layout?: readonly SegmentLayout[];
  /** Per device id in `devices`. */
  readonly hardware?: Readonly<Record<string, DeviceDescription>>;
}

/**
 * A frame the pipeline failed to classify, and where (segment, device) when it said: the classifier's
 * own error kind, so the daemon need not know the pipeline's. The image itself was fine.
 */
export class InferenceError extends Error {
  constructor(
    message: string,
    readonly segment?: string,
    readonly device?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'InferenceError';
  }
}

/** The pipeline as a whole is down (an executor died or hung, a device went away, it closed): no frame is classified until it is rebuilt. */
export class PipelineDownError extends InferenceError {
  override readonly name = 'PipelineDownError';
}

export interface FrameClassifier {
  readonly info: ClassifierInfo;
  /**
   * Rejects with a message that says what is wrong: with the image (ImageInputError), this frame's
   * inference (InferenceError) or the whole pipeline (PipelineDownError).
   */
  classify(image: Buffer, crop?: Crop): Promise<FrameResult>;
  /**
   * For the stats topic, JSON-serialisable: per-segment latency and queue depth, and per device (id)
   * its invokes, failures, busy fraction since the last call and, for Edge TPUs, health.
   */
  stats(): Record<string, unknown>;
  /** Waits for accepted frames, then frees the pipeline. */
  close(): Promise<void>;
}

/** What the daemon hands a factory besides the config. */
export interface BuildContext {
  /** The devices present now, as the daemon's DeviceWatcher sees them; the factory enumerates when absent. */
  readonly devices?: readonly Device[];
  /**
   * Takes this process's exclusive leases on the Edge TPUs a pipeline is about to open (before opening
   * them); throws DeviceBusyError when another process holds one.
   */
  readonly claim?: (deviceIds: readonly string[]) => void;
}

/** Builds the classifier a config asks for; rejects (leaving nothing running) if it cannot. */
export type ClassifierFactory = (config: DaemonConfig, log: Logger, context?: BuildContext) => Promise<FrameClassifier>;
