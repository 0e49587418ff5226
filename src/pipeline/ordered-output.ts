/**
 * Finished items waiting for pop, handed out in push order even when replicas finish them out of
 * order, and the pops waiting for them.
 */
import type { Item } from './stage.js';

interface Waiter {
  resolve(item: Item | null): void;
  reject(err: Error): void;
}

export class OrderedOutput {
  /** Items popped so far, which is also the sequence number of the next one to pop. */
  popped = 0;
  /** Items done (or failed), by sequence number, until popped. */
  private readonly finished = new Map<number, Item>();
  private readonly waiters: Waiter[] = [];

  /**
   * `ended`: whether no more items can come (closed and drained). `taken`: an item left, making room
   * for a push. Finished items are never held back here (the next one to pop could be queued behind
   * them): the runner's in-flight limit bounds how many there are.
   */
  constructor(
    private readonly ended: () => boolean,
    private readonly taken: (item: Item) => void,
  ) {}

  add(item: Item): void {
    this.finished.set(item.seq, item);
  }

  /** Whether the item pop takes next has finished. */
  get nextFinished(): boolean {
    return this.finished.has(this.popped);
  }

  get waiting(): boolean {
    return this.waiters.length > 0;
  }

  /** The oldest item if it is ready, else undefined; null at the end of the stream. */
  takeNext(): Item | null | undefined {
    const item = this.finished.get(this.popped);
    if (!item) return this.ended() ? null : undefined;
    this.finished.delete(this.popped++);
    return item;
  }

  wait(): Promise<Item | null> {
    return new Promise<Item | null>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Hands ready items to waiting pops, oldest first; at the end of the stream the rest get null. */
  deliver(): void {
    while (this.waiters.length > 0) {
      const item = this.takeNext();
      if (item === undefined) break;
      this.waiters.shift()!.resolve(item);
      // Only now: the room this makes may finish the next item and deliver it to the next waiter.
      if (item) this.taken(item);
    }
    if (this.waiters.length > 0 && this.ended()) {
      for (const waiter of this.waiters.splice(0)) waiter.resolve(null);
    }
  }

  rejectWaiters(error: Error): void {
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }

  /** Finished items that still hold a slab (failed ones gave theirs back). */
  get slabsHeld(): number {
    let n = 0;
    for (const item of this.finished.values()) if (item.slab) n++;
    return n;
  }
}
