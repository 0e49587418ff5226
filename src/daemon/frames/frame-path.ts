/**
 * The way of a frame through the daemon: from its MQTT message into its camera's slot, then, while
 * the pipeline has room (`limits.queueDepth`, by default 2 x segments + 2), out of the slots camera by camera into the classifier,
 * and its answer back out. Counts the frames the pipeline finished, which is what the watchdog calls progress.
 */
import type { Camera, Cameras, QueuedFrame } from './cameras.js';
import { PipelineDownError, type FrameClassifier } from './classifier.js';
import type { DaemonConfig } from '../config/config-load.js';
import { BadFrameError, parseFrame } from './frame-intake.js';
import type { FrameReplies } from './frame-replies.js';
import type { IncomingMessage } from '../mqtt/mqtt-session.js';
import { queueDepthFor } from './queue-depth.js';

/** What the frame path asks of the daemon around it. */
export interface FramePathHost {
  config(): DaemonConfig;
  /** The classifier new frames go to; a reload or rebuild replaces it. */
  classifier(): FrameClassifier;
  stopping(): boolean;
  /** Whether the pipeline has failed and not been rebuilt yet. */
  pipelineDown(): boolean;
  /** The current pipeline itself refused a frame: it is dead. */
  pipelineFailed(err: Error): void;
}

export class FramePath {
  /** Frames in the pipeline now. */
  inFlight = 0;
  /** Frames answered or refused by the pipeline: what the watchdog counts as progress. */
  progress = 0;

  constructor(
    private readonly cameras: Cameras,
    private readonly replies: FrameReplies,
    private readonly host: FramePathHost,
  ) {}

  /** Takes one MQTT message on a frame topic; a bad one is answered with an error, never thrown. */
  accept(message: IncomingMessage): void {
    const cam = this.cameras.ofTopic(message.topic);
    if (cam === undefined || this.host.stopping()) return;
    try {
      const frame = parseFrame(cam.id, message, this.host.config().limits);
      cam.totals.received++;
      cam.slot.put({ ...frame, sequence: frame.sequence ?? cam.nextSequence++ });
      this.pump();
    } catch (err) {
      const bad = err instanceof BadFrameError ? err : undefined;
      const reason = bad?.reason ?? String((err as Error).message ?? err);
      this.replies.refused(cam, reason, message.properties.responseTopic, message.properties.correlationData, bad?.sequence);
    }
  }

  /** Starts frames while there is room in the pipeline, one camera after another. */
  pump(): void {
    // While the pipeline is down, frames wait in their slots (newest kept) for the rebuilt one.
    while (!this.host.stopping() && !this.host.pipelineDown() && this.inFlight < queueDepthFor(this.host.config().limits, this.host.classifier().info.segments)) {
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
    const classifier = this.host.classifier();
    const startedAt = performance.now();
    let classification;
    try {
      classification = await classifier.classify(frame.image, cam.config.crop);
    } catch (err) {
      // libvips repeats its complaint over several lines; the first says it.
      const reason = String((err as Error).message ?? err).split('\n')[0]!;
      this.replies.refused(cam, reason, frame.responseTopic, frame.correlationData, frame.sequence, err);
      const down = err instanceof PipelineDownError;
      if (down && classifier === this.host.classifier()) this.host.pipelineFailed(err);
      return !down;
    }
    cam.totals.answered++;
    this.replies.result(cam, frame, classification, classifier.info, startedAt);
    return true;
  }
}
