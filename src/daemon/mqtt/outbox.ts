/**
 * What waits to be published while the broker is away: bounded, so a long outage costs a fixed amount
 * of memory; when full the oldest message goes (the newest results are the useful ones) and is counted.
 */
export class Outbox<T> {
  private readonly items: T[] = [];
  private droppedCount = 0;

  constructor(private readonly capacity: number) {}

  push(item: T): void {
    if (this.capacity === 0) {
      this.droppedCount++;
      return;
    }
    if (this.items.length >= this.capacity) {
      this.items.shift();
      this.droppedCount++;
    }
    this.items.push(item);
  }

  /** Takes everything waiting, oldest first. */
  drain(): T[] {
    return this.items.splice(0);
  }

  get size(): number {
    return this.items.length;
  }

  /** Messages dropped since start because the outbox was full. */
  get dropped(): number {
    return this.droppedCount;
  }
}
