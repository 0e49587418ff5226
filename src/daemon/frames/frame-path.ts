/**
 * The way of a frame through the daemon: from its MQTT message into its camera's slot, then, while
 * the pipeline has room (`limits.queueDepth`, by default 2 x segments + 2), out of the slots camera by
 * camera into the classifier, and its answer back out. Counts the frames the pipeline finished, which
 * is what the watchdog calls progress, and the time each step of a frame takes.
 */
import type { Camera, Cameras, QueuedFrame } from './cameras.js';
import { PipelineDownError } from './classifier.js';
import { BadFrameError, parseFrame } from './frame-intake.js';
import { round, type FrameReplies } from './frame-replies.js';
import type { IncomingMessage } from '../mqtt/mqtt-session.js';
import { queueDepthFor } from './queue-depth.js';
import type { Serving } from './serving.js';

type FrameStep = 'parse' | 'decode' | 'inference' | 'result';

const STEPS: readonly FrameStep[] = ['parse', 'decode', 'inference', 'result'];

/**
 * Where a frame's time in the daemon goes, sampled on every frame at the cost of a few clock reads:
 * the mean milliseconds of each step over the frames since the last stats message. `parse` and
 * `result` (the answer's JSON and its publish) run on the main thread, so their wall time is CPU time;
 * `decode` runs in libvips' threads and `inference` is the pipeline's round trip (queues included).
 */
class StepTimes {
  private sums = new Map<FrameStep, { ms: number; frames: number }>();

  add(step: FrameStep, ms: number): void {
    const sum = this.sums.get(step) ?? { ms: 0, frames: 0 };
    sum.ms += ms;
    sum.frames++;
    this.sums.set(step, sum);
  }

  /** Each step's mean ms per frame since the last take (steps no frame passed left out), and starts again. */
  take(): Partial<Record<FrameStep, number>> {
    const means: Partial<Record<FrameStep, number>> = {};
    for (const step of STEPS) {
      const sum = this.sums.get(step);
      if (sum) means[step] = round(sum.ms / sum.frames, 3);
    }
    this.sums = new Map();
    return means;
  }
}

export class FramePath {
  /** Frames in the pipeline now. */
  inFlight = 0;
  /** Frames answered or refused by the pipeline: what the watchdog counts as progress. */
  progress = 0;
  /** Each step's time per frame, for the stats message. */
  readonly steps = new StepTimes();
  /** While the pipeline is down, frames wait in their slots (newest kept) for the rebuilt one. */
  private paused = false;
  /** Frames let into the pipeline at once, for what serves now. */
  private depth: number;
  private stopped = false;

  constructor(
    private readonly cameras: Cameras,
    private readonly replies: FrameReplies,
    /** What serves now; serve() replaces it. */
    private serving: Serving,
    /** Told (once per classifier) when the classifier in force said its pipeline is down. */
    private readonly pipelineDown: (err: PipelineDownError) => void,
  ) {
    this.depth = queueDepthFor(serving.config.limits, serving.classifier.info.segments);
  }

  /** From now on frames go to `serving`, and answers out on its connection; `resume` ends a pause() (a new pipeline serves). */
  serve(serving: Serving, resume: boolean): void {
    this.serving = serving;
    this.depth = queueDepthFor(serving.config.limits, serving.classifier.info.segments);
    if (resume) this.paused = false;
    this.pump();
  }

  /** The pipeline is down: frames wait until serve() gives a new one. */
  pause(): void {
    this.paused = true;
  }

  /** Takes no more frames (those in the pipeline are still answered). */
  stop(): void {
    this.stopped = true;
  }

  /** Takes one MQTT message on a frame topic; a bad one is answered with an error, never thrown. */
  accept(message: IncomingMessage): void {
    const cam = this.cameras.ofTopic(message.topic);
    if (cam === undefined || this.stopped) return;
    try {
      const parsing = performance.now();
      const frame = parseFrame(cam.id, message, this.serving.config.limits, parsing);
      this.steps.add('parse', performance.now() - parsing);
      cam.totals.received++;
      cam.slot.put({ ...frame, sequence: frame.sequence ?? cam.nextSequence++ });
      this.pump();
    } catch (err) {
      const bad = err instanceof BadFrameError ? err : undefined;
      const reason = bad?.reason ?? String((err as Error).message ?? err);
      this.replies.refused(this.serving, cam, reason, message.properties.responseTopic, message.properties.correlationData, bad?.sequence);
    }
  }

  /** Starts frames while there is room in the pipeline, one camera after another. */
  pump(): void {
    while (!this.stopped && !this.paused && this.inFlight < this.depth) {
      const next = this.cameras.next();
      if (next === undefined) return;
      const [cam, frame] = next;
      this.inFlight++;
      void this.process(cam, frame).then((progressed) => {
        this.inFlight--;
        if (progressed) this.progress++;
        this.pump();
      });
    }
  }

  /** Classifies and answers one frame; resolves false when the pipeline itself is down. Never rejects. */
  private async process(cam: Camera, frame: QueuedFrame): Promise<boolean> {
    // Pinned for this frame: a reload swaps the classifier, and the frame stays with the one it entered.
    // Its answer goes out on the connection in force when it is done (this.serving then).
    const classifier = this.serving.classifier;
    const startedAt = performance.now();
    let classification;
    try {
      classification = await classifier.classify(frame.image, cam.config.crop);
    } catch (err) {
      // libvips repeats its complaint over several lines; the first says it.
      const reason = String((err as Error).message ?? err).split('\n')[0]!;
      this.replies.refused(this.serving, cam, reason, frame.responseTopic, frame.correlationData, frame.sequence, err);
      if (!(err instanceof PipelineDownError)) return true;
      if (classifier === this.serving.classifier) this.pipelineDown(err);
      return false;
    }
    cam.totals.answered++;
    this.steps.add('decode', classification.decodeMs);
    this.steps.add('inference', classification.inferenceMs);
    const answering = performance.now();
    this.replies.result(this.serving, cam, frame, classification, classifier.info, startedAt);
    this.steps.add('result', performance.now() - answering);
    return true;
  }
}
