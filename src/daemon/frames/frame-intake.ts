/**
 * Frames in, up to the moment one leaves for the classifier. An MQTT message waits unparsed in its
 * camera's slot and becomes a camera frame as it leaves: raw JPEG/PNG bytes (what Home Assistant
 * cameras and Frigate snapshots publish) or JSON `{"image": "<base64>", "timestamp"?, "sequence"?}`,
 * with the MQTT v5 properties that matter (user properties timestamp and sequence, message expiry,
 * response topic, correlation data), after cheap checks only, before any decoding: size, emptiness,
 * image signature. The cameras of the running config: which topic feeds which, each one's slot, counters
 * and answer topics, and whose turn it is to send a frame into the pipeline (so a busy camera cannot
 * starve the rest).
 */
import type { CameraConfig } from '../config/config-schema.js';
import type { DaemonConfig } from '../config/config-load.js';
import type { IncomingMessage } from '../mqtt/mqtt-session.js';
import { frameSubscription, topicsFor, type CameraTopics } from '../mqtt/topics.js';

export interface Frame {
  readonly camera: string;
  readonly image: Buffer;
  /** From the publisher (user property or JSON field) when given, else undefined. */
  readonly sequence?: number;
  /** Capture time, ms since the epoch: the publisher's when given, else when it arrived. */
  readonly timestamp: number;
  /** performance.now() at arrival. */
  readonly receivedAt: number;
  /** performance.now() after which the frame is stale (MQTT v5 message expiry). */
  readonly expiresAt?: number;
  readonly responseTopic?: string;
  readonly correlationData?: Buffer;
}

/**
 * A payload that is not a usable frame; `reason` says why in a few words for logs and error events,
 * `sequence` is the frame's own number when it gave one before the problem was found.
 */
export class BadFrameError extends Error {
  constructor(
    readonly camera: string,
    readonly reason: string,
    readonly sequence?: number,
  ) {
    super(`camera ${camera}: ${reason}`);
    this.name = 'BadFrameError';
  }
}

const JPEG = Buffer.from([0xff, 0xd8, 0xff]);
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function checkImage(camera: string, image: Buffer, maxBytes: number, what: string): void {
  if (image.length === 0) throw new BadFrameError(camera, `${what} is empty`);
  if (image.length > maxBytes) throw new BadFrameError(camera, `${what} of ${image.length} bytes is over limits.maxPayloadBytes (${maxBytes})`);
  if (!image.subarray(0, 3).equals(JPEG) && !image.subarray(0, 8).equals(PNG)) {
    const head = image.subarray(0, 4).toString('hex').replace(/(..)(?=.)/g, '$1 ');
    throw new BadFrameError(camera, `${what} is not a JPEG or PNG image (starts with ${head})`);
  }
}

/** Integer from a user property or JSON field; undefined when absent, a BadFrameError when malformed. */
function integer(camera: string, name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new BadFrameError(camera, `${name} ${JSON.stringify(value)} is not a non-negative integer`);
  return n;
}

/** ms since the epoch from a number or an ISO 8601 string. */
function timestampOf(camera: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const ms = typeof value === 'number' ? value : typeof value === 'string' ? (/^\d+$/.test(value) ? Number(value) : Date.parse(value)) : NaN;
  // A Date holds at most ±8.64e15 ms; a larger number would make the result's ISO time throw.
  if (Number.isNaN(new Date(ms).getTime())) throw new BadFrameError(camera, `timestamp ${JSON.stringify(value)} is neither ms since the epoch nor an ISO 8601 time`);
  return ms;
}

/** A browser's `data:image/jpeg;base64,` prefix, which senders often leave on. */
const DATA_URL = /^data:[\w.+-]+\/[\w.+-]+;base64,/;
/** Base64 in either alphabet (standard or URL-safe), line breaks and padding optional: what Node decodes. */
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/**
 * Decodes the JSON `image` field. Node's decoder skips characters that are not base64 and decodes the
 * rest, so garbage would surface later as "not a JPEG"; this names the first bad character instead,
 * counted in the field as sent.
 */
function decodeBase64(camera: string, text: string): Buffer {
  const rest = text.replace(DATA_URL, '');
  const body = rest.replace(/\s+/g, '');
  if (!BASE64.test(body)) {
    const at = rest.search(/[^\sA-Za-z0-9+/_=-]/);
    const code = at < 0 ? 0 : rest.codePointAt(at)!;
    const where = at < 0
      ? 'padding "=" before the end'
      : `${JSON.stringify(String.fromCodePoint(code))} (U+${code.toString(16).toUpperCase().padStart(4, '0')}) at character ${text.length - rest.length + at + 1}`;
    throw new BadFrameError(camera, `"image" is not valid base64: ${where}`);
  }
  const digits = body.replace(/=+$/, '').length;
  if (digits % 4 === 1) throw new BadFrameError(camera, `"image" is not valid base64: ${digits} characters cannot be whole bytes (truncated?)`);
  return Buffer.from(body, 'base64');
}

function isJson(message: IncomingMessage): boolean {
  const type = message.properties.contentType;
  if (type !== undefined) return /^application\/(.+\+)?json\b/i.test(type);
  // Without a content type (MQTT 3.1.1), JSON is told apart by its first byte: no image starts with "{".
  return message.payload[0] === 0x7b;
}

/**
 * Whether a client may publish to `topic`: a v5 response topic is the publisher's to choose, and
 * publishing to an empty one or one with wildcards or NUL makes the broker drop the daemon's connection.
 */
export function isPublishTopic(topic: string): boolean {
  return topic.length > 0 && !/[+#\u0000]/.test(topic);
}

export interface IntakeLimits {
  readonly maxPayloadBytes: number;
}

/**
 * Parses one message for `camera`; throws BadFrameError for anything that is not a usable frame,
 * carrying the frame's sequence when the sender gave one that could be read.
 */
export function parseFrame(camera: string, message: IncomingMessage, limits: IntakeLimits, now = performance.now()): Frame {
  let sequence: number | undefined;
  try {
    return parseFields(camera, message, limits, now, (n) => (sequence = n));
  } catch (err) {
    if (err instanceof BadFrameError && sequence !== undefined) throw new BadFrameError(camera, err.reason, sequence);
    throw err;
  }
}

function parseFields(camera: string, message: IncomingMessage, limits: IntakeLimits, now: number, sequenced: (n: number | undefined) => void): Frame {
  const { payload, properties } = message;
  if (payload.length > limits.maxPayloadBytes)
    throw new BadFrameError(camera, `payload of ${payload.length} bytes is over limits.maxPayloadBytes (${limits.maxPayloadBytes})`);
  if (properties.responseTopic !== undefined && !isPublishTopic(properties.responseTopic))
    throw new BadFrameError(camera, `response topic ${JSON.stringify(properties.responseTopic)} is not one to publish to (empty, or holds "+", "#" or NUL)`);
  const user = properties.userProperties ?? {};
  const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
  let image: Buffer;
  let sequence = integer(camera, 'sequence', first(user.sequence));
  sequenced(sequence);
  let timestamp = timestampOf(camera, first(user.timestamp));
  if (payload.length > 0 && isJson(message)) {
    let body: unknown;
    try {
      body = JSON.parse(payload.toString('utf8'));
    } catch (err) {
      throw new BadFrameError(camera, `JSON payload does not parse: ${(err as Error).message}`);
    }
    const fields = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    sequence = integer(camera, 'sequence', fields.sequence) ?? sequence;
    sequenced(sequence);
    timestamp = timestampOf(camera, fields.timestamp) ?? timestamp;
    if (typeof fields.image !== 'string') throw new BadFrameError(camera, 'JSON payload has no "image" field holding a base64 string');
    image = decodeBase64(camera, fields.image);
    checkImage(camera, image, limits.maxPayloadBytes, 'base64 "image"');
  } else {
    image = payload;
    checkImage(camera, image, limits.maxPayloadBytes, 'payload');
  }
  const expiry = properties.messageExpiryInterval;
  return {
    camera,
    image,
    ...(sequence !== undefined && { sequence }),
    timestamp: timestamp ?? Date.now(),
    receivedAt: now,
    ...(expiry !== undefined && { expiresAt: now + expiry * 1000 }),
    ...(properties.responseTopic !== undefined && { responseTopic: properties.responseTopic }),
    ...(properties.correlationData !== undefined && { correlationData: properties.correlationData }),
  };
}

export type DropPolicy = 'newest' | 'oldest';

/**
 * One camera's waiting frame. When frames arrive faster than the pipeline takes them, only one waits:
 * with policy `newest` a new frame replaces the waiting one (latency stays bounded, memory flat), with
 * `oldest` the waiting one stays and the new one is refused. Either way the loser is counted.
 */
export class FrameSlot<T> {
  private waiting: T | undefined;
  private droppedCount = 0;

  constructor(private readonly policy: DropPolicy) {}

  /** Offers a frame; returns the frame dropped to make room (or refused), if any. */
  put(item: T): T | undefined {
    if (this.waiting === undefined) {
      this.waiting = item;
      return undefined;
    }
    this.droppedCount++;
    if (this.policy === 'oldest') return item;
    const displaced = this.waiting;
    this.waiting = item;
    return displaced;
  }

  take(): T | undefined {
    const item = this.waiting;
    this.waiting = undefined;
    return item;
  }

  /** Frames dropped since the slot was made. */
  get dropped(): number {
    return this.droppedCount;
  }
}

export interface Counters {
  /** Messages on the camera's topics; each ends answered, dropped, expired or in errors (bad ones when parsed). */
  received: number;
  answered: number;
  expired: number;
  errors: number;
  /** Taken from the slot's own count at each stats tick. */
  dropped: number;
}

/** A frame on its way into the pipeline, numbered by the camera when the sender did not number it. */
export type QueuedFrame = Frame & { sequence: number };

/**
 * A message on a camera's topic as it waits in the camera's slot: only what costs nothing to read. It
 * is parsed when it leaves the slot for the pipeline, so a frame that a newer one displaces costs no
 * parsing (for a JSON frame, no JSON parse and no base64 decode of its image).
 */
export interface ArrivedFrame {
  readonly message: IncomingMessage;
  /** performance.now() at arrival. */
  readonly receivedAt: number;
  /** performance.now() after which the frame is stale (MQTT v5 message expiry). */
  readonly expiresAt?: number;
  /**
   * The camera's number for a frame that can carry no number of its own: a raw image without a
   * sequence user property. Given on arrival, so that gaps in a camera's numbers show dropped frames.
   */
  readonly cameraSequence?: number;
}

/** What a message on `cam`'s topic leaves in its slot, read at `now` (performance.now()). */
export function arrived(cam: Camera, message: IncomingMessage, now: number): ArrivedFrame {
  const { messageExpiryInterval: expiry, userProperties } = message.properties;
  const numbered = userProperties?.sequence !== undefined || (message.payload.length > 0 && isJson(message));
  return {
    message,
    receivedAt: now,
    ...(expiry !== undefined && { expiresAt: now + expiry * 1000 }),
    ...(!numbered && { cameraSequence: cam.nextSequence++ }),
  };
}

/**
 * Parses a frame leaving `cam`'s slot; throws BadFrameError as parseFrame does. A frame that gave no
 * number of its own gets the camera's (a JSON one only now, when its body has been read).
 */
export function queuedFrame(cam: Camera, frame: ArrivedFrame, limits: IntakeLimits): QueuedFrame {
  const parsed = parseFrame(cam.id, frame.message, limits, frame.receivedAt);
  return { ...parsed, sequence: parsed.sequence ?? frame.cameraSequence ?? cam.nextSequence++ };
}

export class Camera {
  readonly slot: FrameSlot<ArrivedFrame>;
  readonly totals: Counters = { received: 0, answered: 0, expired: 0, errors: 0, dropped: 0 };
  /** Totals at the last stats tick, for per-interval rates. */
  lastTick: Counters = { ...this.totals };
  nextSequence = 1;
  /** Where its answers go under the config in force (set with the cameras, not per frame). */
  topics: CameraTopics = { result: '', error: '' };

  constructor(
    readonly id: string,
    readonly config: CameraConfig,
    readonly defaultPolicy: DropPolicy,
  ) {
    this.slot = new FrameSlot(config.dropPolicy ?? defaultPolicy);
  }
}

export class Cameras {
  private byId = new Map<string, Camera>();
  private byTopic = new Map<string, Camera>();
  private turn = 0;

  /**
   * Takes the cameras of `config`; those whose config is unchanged keep their slot and counters. The
   * answers of every camera, old ones whose frames are still in the pipeline too, go to the topics of
   * `config` from now on.
   */
  set(config: DaemonConfig): void {
    const topics = topicsFor(config.mqtt.topicPrefix, config.node);
    const cameras = new Map<string, Camera>();
    const ofTopic = new Map<string, Camera>();
    for (const [id, camera] of Object.entries(config.cameras)) {
      const old = this.byId.get(id);
      const same = old && JSON.stringify([old.config, old.defaultPolicy]) === JSON.stringify([camera, config.limits.dropPolicy]);
      const cam = same ? old : new Camera(id, camera, config.limits.dropPolicy);
      cameras.set(id, cam);
      for (const topic of camera.topics) ofTopic.set(topic, cam);
    }
    for (const cam of [...this.byId.values(), ...cameras.values()]) cam.topics = { result: topics.result(cam.id), error: topics.error(cam.id) };
    this.byId = cameras;
    this.byTopic = ofTopic;
  }

  get size(): number {
    return this.byId.size;
  }

  get(id: string): Camera | undefined {
    return this.byId.get(id);
  }

  /** The camera whose frames arrive on `topic`. */
  ofTopic(topic: string): Camera | undefined {
    return this.byTopic.get(topic);
  }

  entries(): IterableIterator<[string, Camera]> {
    return this.byId.entries();
  }

  values(): IterableIterator<Camera> {
    return this.byId.values();
  }

  /** The next camera in turn with a frame still worth classifying; expired frames are counted and skipped. */
  next(): [Camera, ArrivedFrame] | undefined {
    const cams = [...this.byId.values()];
    for (let i = 0; i < cams.length; i++) {
      const cam = cams[(this.turn + i) % cams.length]!;
      const frame = cam.slot.take();
      if (frame === undefined) continue;
      if (frame.expiresAt !== undefined && performance.now() > frame.expiresAt) {
        cam.totals.expired++;
        continue;
      }
      this.turn = (this.turn + i + 1) % cams.length;
      return [cam, frame];
    }
    return undefined;
  }
}

/** The MQTT subscriptions for the frame topics of `config`'s cameras. */
export function frameSubscriptions(config: DaemonConfig): string[] {
  return Object.values(config.cameras).flatMap((camera) => camera.topics.map((t) => frameSubscription(t, config.mqtt.sharedGroup)));
}
