/**
 * Answers to frames: the result or the refusal on the camera's topic, and on the frame's MQTT v5
 * response topic too when it named one. Refusals are counted and logged at most once per camera per
 * stats interval, so a camera sending garbage cannot flood journald.
 */
import type { Logger } from 'pino';
import type { Camera, QueuedFrame } from './cameras.js';
import { InferenceError, type FrameResult, type ClassifierInfo } from './classifier.js';
import { isPublishTopic } from './frame-intake.js';
import type { PublishProperties } from '../mqtt/mqtt-session.js';
import type { Serving } from './serving.js';

/** Rates and latencies go out rounded: more digits are noise. */
export const round = (n: number, digits = 2) => Number(n.toFixed(digits));

export class FrameReplies {
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
    this.publish(serving, serving.connection.topics.result(cam.id), JSON.stringify(result), frame.sequence, frame);
  }

  /** Counts, publishes an error event, and logs at most once per camera per stats interval. */
  refused(serving: Serving, cam: Camera, reason: string, responseTopic?: string, correlationData?: Buffer, sequence?: number, err?: unknown): void {
    cam.totals.errors++;
    // The same fields as the log line below: camera, the frame's sequence when it had one, reason.
    const payload = JSON.stringify({ camera: cam.id, ...(sequence !== undefined && { sequence }), reason, time: new Date().toISOString() });
    this.publish(serving, serving.connection.topics.error(cam.id), payload, sequence, {
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
