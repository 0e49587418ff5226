/**
 * The way of a frame through the daemon: from its MQTT message into its camera's slot, then, while
 * the pipeline has room (`limits.queueDepth`, by default 2 x segments + 2), out of the slots camera by
 * camera, parsed, into the classifier, and its answer (result or refusal) back out. Counts the frames the
 * pipeline finished, which is what the watchdog calls progress, and the time each step of a frame takes.
 */
import type { Logger } from 'pino';
import { InferenceError, PipelineDownError, type ClassifierInfo, type FrameResult } from './classifier.js';
import { BadFrameError, arrived, isPublishTopic, queuedFrame, type ArrivedFrame, type Camera, type Cameras, type QueuedFrame } from './frame-intake.js';
import type { IncomingMessage, MqttSession, PublishProperties } from '../mqtt/mqtt-session.js';
import { SwitchOverlap } from '../mqtt/switch-overlap.js';
import { queueDepthFor } from './queue-depth.js';
import type { Serving } from './serving.js';

/** Rates and latencies go out rounded: more digits are noise. */
export const round = (n: number, digits = 2) => Number(n.toFixed(digits));

/**
 * Answers to frames: the result or the refusal on the camera's topic, and on the frame's MQTT v5
 * response topic too when it named one. Refusals are counted and logged at most once per camera per
 * stats interval, so a camera sending garbage cannot flood journald.
 */
class FrameReplies {
  /** Per camera id: when its refusals were last logged, and how many went unlogged since. */
  private readonly errorLog = new Map<string, { at: number; suppressed: number }>();

  constructor(private readonly log: Logger) {}

  /** Publishes one frame's classification on `serving`'s connection; `startedAt` is when it left the slot. */
  result(serving: Serving, cam: Camera, frame: QueuedFrame, classification: FrameResult, info: ClassifierInfo, startedAt: number): void {
    const result = {
      camera: cam.id,
      sequence: frame.sequence,
      timestamp: new Date(frame.timestamp).toISOString(),
      top: classification.top,
      model: info.model,
      segments: info.segments,
      devices: info.devices,
      latencyMs: {
        queue: round(startedAt - frame.receivedAt),
        decode: round(classification.decodeMs),
        inference: round(classification.inferenceMs),
        total: round(performance.now() - frame.receivedAt),
      },
    };
    this.publish(serving, cam.topics.result, JSON.stringify(result), frame.sequence, frame);
  }

  /** Counts, publishes an error event, and logs at most once per camera per stats interval. */
  refused(serving: Serving, cam: Camera, reason: string, responseTopic?: string, correlationData?: Buffer, sequence?: number, err?: unknown): void {
    cam.totals.errors++;
    // The same fields as the log line below: camera, the frame's sequence when it had one, reason.
    const payload = JSON.stringify({ camera: cam.id, ...(sequence !== undefined && { sequence }), reason, time: new Date().toISOString() });
    this.publish(serving, cam.topics.error, payload, sequence, {
      ...(responseTopic !== undefined && { responseTopic }),
      ...(correlationData !== undefined && { correlationData }),
    });
    const now = performance.now();
    const logged = this.errorLog.get(cam.id) ?? { at: -Infinity, suppressed: 0 };
    this.errorLog.set(cam.id, logged);
    if (now - logged.at < serving.config.statsIntervalSeconds * 1000) {
      logged.suppressed++;
      return;
    }
    // Segment and device tell journald users which accelerator misbehaves.
    const where = err instanceof InferenceError ? { segment: err.segment, device: err.device } : {};
    this.log.warn({ event: 'bad-frame', camera: cam.id, ...(sequence !== undefined && { sequence }), ...where, reason, suppressed: logged.suppressed }, `camera ${cam.id}: frame refused: ${reason}`);
    logged.at = now;
    logged.suppressed = 0;
  }

  /** Publishes on `topic`, and to the frame's v5 response topic too when it named one. */
  private publish({ config, connection }: Serving, topic: string, payload: string, sequence: number | undefined, frame: { timestamp?: number; responseTopic?: string; correlationData?: Buffer }): void {
    const m = config.mqtt;
    const properties: PublishProperties = {
      contentType: 'application/json',
      userProperties: {
        ...(sequence !== undefined && { sequence: String(sequence) }),
        timestamp: String(frame.timestamp ?? Date.now()),
      },
      ...(m.resultExpirySeconds !== undefined && { messageExpiryInterval: m.resultExpirySeconds }),
      ...(frame.correlationData !== undefined && { correlationData: frame.correlationData }),
    };
    const session = connection.session;
    session.publish({ topic, payload, qos: m.resultQos, properties });
    // Also reached with a refused frame's raw response topic: never publish where the broker would drop us.
    if (frame.responseTopic !== undefined && isPublishTopic(frame.responseTopic)) session.publish({ topic: frame.responseTopic, payload, qos: m.resultQos, properties });
  }
}

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
  /** Frames taken while a reload switches MQTT sessions (the daemon begins and ends it), so none is answered twice. */
  readonly overlap = new SwitchOverlap();
  /** While the pipeline is down, frames wait in their slots (newest kept) for the rebuilt one. */
  private paused = false;
  /** What serves now; serve() sets it, before any frame comes. */
  private serving!: Serving;
  /** Frames let into the pipeline at once, for what serves now. */
  private depth = 0;
  private stopped = false;
  private readonly replies: FrameReplies;

  constructor(
    private readonly cameras: Cameras,
    log: Logger,
    /** Told (once per classifier) when the classifier in force said its pipeline is down. */
    private readonly pipelineDown: (err: PipelineDownError) => void,
    /** Gets the current session's messages on topics that feed no camera (Home Assistant's birth). */
    private readonly other: (message: IncomingMessage) => void,
  ) {
    this.replies = new FrameReplies(log);
  }

  /**
   * From now on frames go to `serving`, and answers out on its connection; `resume` ends a pause() (a
   * new pipeline serves). The daemon calls it first before any frame comes.
   */
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

  /**
   * Takes one MQTT message, as a session's message handler: a frame from the session in force (during
   * a switch both may receive the same one: it counts once) goes to its camera's slot unparsed; other
   * topics go to `other`.
   */
  readonly accept = (message: IncomingMessage, from: MqttSession): void => {
    if (from !== this.serving.connection.session) return;
    const cam = this.cameras.ofTopic(message.topic);
    if (cam === undefined) return this.other(message);
    const now = performance.now();
    // A field read, not a call, while no switch is on: the check costs a hash per frame only during one.
    if (this.stopped || (now <= this.overlap.until && this.overlap.takenElsewhere(from, message, now))) return;
    cam.totals.received++;
    cam.slot.put(arrived(cam, message, now));
    this.pump();
  };

  /** Starts frames while there is room in the pipeline, one camera after another. */
  pump(): void {
    while (!this.stopped && !this.paused && this.inFlight < this.depth) {
      const next = this.cameras.next();
      if (next === undefined) return;
      const [cam, waiting] = next;
      const frame = this.parse(cam, waiting);
      if (frame === undefined) continue;
      this.inFlight++;
      void this.process(cam, frame).then((progressed) => {
        this.inFlight--;
        if (progressed) this.progress++;
        this.pump();
      });
    }
  }

  /** The frame leaving its slot, parsed; a bad one is answered with an error, never thrown. */
  private parse(cam: Camera, waiting: ArrivedFrame): QueuedFrame | undefined {
    const started = performance.now();
    try {
      const frame = queuedFrame(cam, waiting, this.serving.config.limits);
      this.steps.add('parse', performance.now() - started);
      return frame;
    } catch (err) {
      const bad = err instanceof BadFrameError ? err : undefined;
      const reason = bad?.reason ?? String((err as Error).message ?? err);
      const { responseTopic, correlationData } = waiting.message.properties;
      this.replies.refused(this.serving, cam, reason, responseTopic, correlationData, bad?.sequence);
      return undefined;
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
