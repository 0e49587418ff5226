/**
 * The cameras of the running config: each one's waiting frame (its slot) and counters, which topic
 * feeds which camera, and whose turn it is to send a frame into the pipeline (so a busy camera cannot
 * starve the rest).
 */
import type { CameraConfig } from '../config/config-schema.js';
import type { DaemonConfig } from '../config/config-load.js';
import type { Frame } from './frame-intake.js';
import { frameSubscription } from '../mqtt/topics.js';

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
  received: number;
  answered: number;
  expired: number;
  errors: number;
  /** Taken from the slot's own count at each stats tick. */
  dropped: number;
}

/** A frame waiting in a slot, numbered by the camera when the sender did not number it. */
export type QueuedFrame = Frame & { sequence: number };

export class Camera {
  readonly slot: FrameSlot<QueuedFrame>;
  readonly totals: Counters = { received: 0, answered: 0, expired: 0, errors: 0, dropped: 0 };
  /** Totals at the last stats tick, for per-interval rates. */
  lastTick: Counters = { ...this.totals };
  nextSequence = 1;

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

  /** Takes the cameras of `config`; those whose config is unchanged keep their slot and counters. */
  set(config: DaemonConfig): void {
    const cameras = new Map<string, Camera>();
    const ofTopic = new Map<string, Camera>();
    for (const [id, camera] of Object.entries(config.cameras)) {
      const old = this.byId.get(id);
      const same = old && JSON.stringify([old.config, old.defaultPolicy]) === JSON.stringify([camera, config.limits.dropPolicy]);
      const cam = same ? old : new Camera(id, camera, config.limits.dropPolicy);
      cameras.set(id, cam);
      for (const topic of camera.topics) ofTopic.set(topic, cam);
    }
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
  next(): [Camera, QueuedFrame] | undefined {
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
