/**
 * One camera's waiting frame. When frames arrive faster than the pipeline takes them, only one waits:
 * with policy `newest` a new frame replaces the waiting one (latency stays bounded, memory flat), with
 * `oldest` the waiting one stays and the new one is refused. Either way the loser is counted.
 */
export type DropPolicy = 'newest' | 'oldest';

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

  get occupied(): boolean {
    return this.waiting !== undefined;
  }

  /** Frames dropped since the slot was made. */
  get dropped(): number {
    return this.droppedCount;
  }
}
