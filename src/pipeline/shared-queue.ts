/**
 * A bounded FIFO of items (sequence number and slab id) in shared memory, which any thread may put
 * into and take from: the queues between a pipeline's stages. Executors hand items to the next stage
 * through them without a message or the main thread; a thread that finds one empty (or full) waits
 * with Atomics.waitAsync, so a busy pipeline, whose queues are rarely empty, wakes no thread at all.
 *
 * A lock guards each put and take, which hold it for a few loads and stores: several replicas may put
 * and take at once.
 */

// Int32 header cells.
const LOCK = 0;
/** Index of the oldest entry. */
const HEAD = 1;
const LENGTH = 2;
/** Puts and takes so far (wrapping): what waiting threads watch. */
const PUTS = 3;
const TAKES = 4;
const LENGTH_MAX = 5;
const LIMIT = 6;
/** Threads waiting for a put, and for a take: a put or take notifies only when some are (a notify costs a syscall). */
const PUT_WAITERS = 7;
const TAKE_WAITERS = 8;
const HEADER_BYTES = 12 * 4;
/** Tries for the lock before sleeping on it: it is held for a few loads and stores. */
const SPINS = 100;

export interface QueueEntry {
  readonly seq: number;
  readonly slab: number;
}

export class SharedQueue {
  private readonly cells: Int32Array;
  /** Pairs of sequence number and slab id; float64 so that sequence numbers never wrap. */
  private readonly entries: Float64Array;
  readonly limit: number;

  /** A new queue holding at most `limit` items. */
  static create(limit: number): SharedQueue {
    const buffer = new SharedArrayBuffer(HEADER_BYTES + limit * 16);
    new Int32Array(buffer)[LIMIT] = limit;
    return new SharedQueue(buffer);
  }

  /** The queue another thread created, from its buffer. */
  constructor(readonly buffer: SharedArrayBuffer) {
    this.cells = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.limit = this.cells[LIMIT]!;
    this.entries = new Float64Array(buffer, HEADER_BYTES, this.limit * 2);
  }

  /** Appends an item; false when the queue is full. */
  put(seq: number, slab: number): boolean {
    const c = this.cells;
    this.lock();
    const length = c[LENGTH]!;
    if (length >= this.limit) {
      this.unlock();
      return false;
    }
    const at = ((c[HEAD]! + length) % this.limit) * 2;
    this.entries[at] = seq;
    this.entries[at + 1] = slab;
    c[LENGTH] = length + 1;
    if (length + 1 > c[LENGTH_MAX]!) c[LENGTH_MAX] = length + 1;
    Atomics.add(c, PUTS, 1);
    this.unlock();
    // After the count, so that a thread about to wait either sees the new count or is seen here.
    if (Atomics.load(c, PUT_WAITERS) > 0) Atomics.notify(c, PUTS, 1);
    return true;
  }

  /** Removes the oldest item; undefined when the queue is empty. */
  take(): QueueEntry | undefined {
    const c = this.cells;
    this.lock();
    const length = c[LENGTH]!;
    if (length === 0) {
      this.unlock();
      return undefined;
    }
    const head = c[HEAD]!;
    const entry = { seq: this.entries[head * 2]!, slab: this.entries[head * 2 + 1]! };
    c[HEAD] = (head + 1) % this.limit;
    c[LENGTH] = length - 1;
    Atomics.add(c, TAKES, 1);
    this.unlock();
    if (Atomics.load(c, TAKE_WAITERS) > 0) Atomics.notify(c, TAKES, 1);
    return entry;
  }

  get length(): number {
    return Atomics.load(this.cells, LENGTH);
  }

  /** The most items it has held at once. */
  get lengthMax(): number {
    return Atomics.load(this.cells, LENGTH_MAX);
  }

  /** Read before a take that may find the queue empty, then given to afterPut. */
  get puts(): number {
    return Atomics.load(this.cells, PUTS);
  }

  /** Read before a put that may find the queue full, then given to afterTake. */
  get takes(): number {
    return Atomics.load(this.cells, TAKES);
  }

  /** Resolves once an item has been put since `puts` was read (at once if one has). */
  afterPut(puts: number): Promise<void> {
    return this.waitWhile(PUTS, PUT_WAITERS, puts);
  }

  /** Resolves once an item has been taken since `takes` was read (at once if one has). */
  afterTake(takes: number): Promise<void> {
    return this.waitWhile(TAKES, TAKE_WAITERS, takes);
  }

  /**
   * Blocks this thread for at most `ms` until an item has been put since `puts` was read; whether one
   * has. Waking a blocked thread costs much less than resolving an async wait (no task through its
   * event loop), but the thread reads no messages meanwhile: workers only, briefly.
   */
  putWithin(puts: number, ms: number): boolean {
    return this.block(PUTS, PUT_WAITERS, puts, ms);
  }

  /** As putWithin, for a take since `takes` was read. */
  takeWithin(takes: number, ms: number): boolean {
    return this.block(TAKES, TAKE_WAITERS, takes, ms);
  }

  private block(cell: number, waiters: number, value: number, ms: number): boolean {
    const c = this.cells;
    Atomics.add(c, waiters, 1);
    const woken = Atomics.wait(c, cell, value, ms) !== 'timed-out';
    Atomics.sub(c, waiters, 1);
    return woken;
  }

  /** Wakes every thread waiting on this queue, which then looks again (used to make them stop). */
  wakeAll(): void {
    Atomics.notify(this.cells, PUTS);
    Atomics.notify(this.cells, TAKES);
  }

  private waitWhile(cell: number, waiters: number, value: number): Promise<void> {
    const c = this.cells;
    Atomics.add(c, waiters, 1);
    const wait = Atomics.waitAsync(c, cell, value);
    if (!wait.async) {
      Atomics.sub(c, waiters, 1);
      return Promise.resolve();
    }
    return wait.value.then(() => void Atomics.sub(c, waiters, 1));
  }

  /**
   * A futex mutex (0 free, 1 held, 2 held and wanted): a short spin, then sleep. Spinning alone would
   * not do: with more threads than cores, the holder may be descheduled for a whole time slice.
   */
  private lock(): void {
    const c = this.cells;
    for (let spin = 0; spin < SPINS; spin++) {
      if (Atomics.compareExchange(c, LOCK, 0, 1) === 0) return;
    }
    while (Atomics.exchange(c, LOCK, 2) !== 0) Atomics.wait(c, LOCK, 2);
  }

  private unlock(): void {
    if (Atomics.exchange(this.cells, LOCK, 0) === 2) Atomics.notify(this.cells, LOCK, 1);
  }
}
