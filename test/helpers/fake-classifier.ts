/**
 * A stand-in for the real classifier, so daemon tests need no model: the "label" of a frame is its
 * last byte, a frame holding the text BROKEN fails to decode, and `hold()` stalls the pipeline the way
 * a slow or hung accelerator would.
 */
import type { FrameResult, ClassifierInfo, Crop, FrameClassifier } from '../../src/daemon/frames/classifier.js';

/** A JPEG-signed payload whose classification is `index` (0..255). */
export function fakeJpeg(index: number, extra = ''): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from(extra), Buffer.from([index])]);
}

export class FakeClassifier implements FrameClassifier {
  readonly seen: { image: Buffer; crop?: Crop }[] = [];
  closed = false;
  /** When set, every classify rejects with it (a dead pipeline). */
  failure: Error | undefined;
  private gate: Promise<void> | undefined;
  private active = 0;
  private idle: (() => void)[] = [];

  constructor(readonly info: ClassifierInfo = { model: { name: 'fake', hash: 'f00d' }, segments: 2, devices: [['cpu:0'], ['cpu:1']] }) {}

  /** Stalls every classify until the returned function is called. */
  hold(): () => void {
    let release!: () => void;
    this.gate = new Promise((r) => (release = r));
    return () => {
      this.gate = undefined;
      release();
    };
  }

  get inFlight(): number {
    return this.active;
  }

  async classify(image: Buffer, crop?: Crop): Promise<FrameResult> {
    if (this.closed) throw new Error('classifier closed');
    this.active++;
    try {
      this.seen.push({ image, ...(crop && { crop }) });
      while (this.gate) await this.gate;
      if (this.failure) throw this.failure;
      if (image.includes('BROKEN')) throw new Error('truncated JPEG');
      const index = image[image.length - 1]!;
      return { top: [{ index, label: `${this.info.model.name}-${index}`, score: 0.9 }], decodeMs: 1, inferenceMs: 2 };
    } finally {
      this.active--;
      if (this.active === 0) for (const wake of this.idle.splice(0)) wake();
    }
  }

  stats(): Record<string, unknown> {
    return { segments: [{ meanMs: 1, queue: 0 }] };
  }

  async close(): Promise<void> {
    if (this.active > 0) await new Promise<void>((r) => this.idle.push(r));
    this.closed = true;
  }
}
