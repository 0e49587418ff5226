/**
 * What moves items through a pipeline, on the runner's thread: admits pushes while the queues and byte
 * budget have room, putting them in the first stage's queue; takes finished items from the output
 * queue and hands them to pops in push order; ends everything on close or failure. Between stages the
 * executors hand items on through shared queues without this thread: an executor that finds the next
 * queue full holds its item and takes no other (the backpressure).
 *
 * Executors' callbacks reference only the core, never the public runner, so a runner nobody holds
 * can be collected.
 */
import { type NamedTensors, checkNamedTensors } from '../tensors/tensor.js';
import type { ChainAnalysis } from '../model/segment/chain.js';
import { PipelineClosedError, SegmentInvokeError } from './errors.js';
import { watchPipeline } from './hang-watch.js';
import { ItemSlabs, placementsOf, type SlabAllocator, type SlabLayout } from './slabs.js';
import type { RunnerLimits } from './runner-options.js';
import { SharedQueue } from './shared-queue.js';
import type { Item, Stage } from './stage.js';
import { segmentStats, stageProgress } from './stage.js';
import type { PipelineStats } from './stats.js';
import { RecentSamples } from './stats.js';
import type { ErrorInfo } from './worker-protocol.js';
import type { WorkerExecutor } from './worker-executor.js';

interface PushWaiter {
  /** The slab its inputs were written into, admitted once there is room. */
  readonly slab: SharedArrayBuffer;
  resolve(): void;
  reject(err: Error): void;
}

interface PopWaiter {
  resolve(item: Item | null): void;
  reject(err: Error): void;
}

/**
 * Finished items waiting for pop, handed out in push order even when replicas finish them out of
 * order, and the pops waiting for them.
 */
export class OrderedOutput {
  /** Items popped so far, which is also the sequence number of the next one to pop. */
  popped = 0;
  /** Items done (or failed), by sequence number, until popped. */
  private readonly finished = new Map<number, Item>();
  private readonly waiters: PopWaiter[] = [];

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

export class PipelineCore {
  readonly executors: readonly WorkerExecutor[];
  readonly slabs: ItemSlabs;
  private readonly output: OrderedOutput;
  /** Where the last stage's executors put the items they finish. */
  private readonly finished: SharedQueue;
  private nextSeq = 0;
  /** Pushes waiting for room, oldest first. */
  private readonly pushWaiters: PushWaiter[] = [];
  /** Items admitted and not yet finished or failed, by sequence number. */
  private readonly inStages = new Map<number, Item>();
  /**
   * Items popped whose slab has not come back yet (outputs held as views, and pops in progress): their
   * slabs count against the byte budget from the moment they leave the output.
   */
  private held = 0;
  private readonly endToEnd = new RecentSamples();
  private closed = false;
  failure: Error | undefined;
  private closeDone: Promise<void> | undefined;
  /** Resolves the wait in close() once no item is left in a stage. */
  private settleClose: (() => void) | undefined;
  /** Whether the process is held alive because items are in the stages. */
  private active = false;
  private hangTimer: NodeJS.Timeout | undefined;
  /** Whether this thread is set to wake for the output queue (a put there). */
  private watchingFinished = false;
  /** Items the stages had finished or failed at the last stall check. */
  private progressSeen = -1;
  /** Items the byte budget has room for (one slab each). */
  readonly budgetSlabs: number;

  constructor(
    readonly chain: ChainAnalysis,
    readonly layout: SlabLayout,
    private readonly stages: readonly Stage[],
    allocator: SlabAllocator,
    private readonly limits: RunnerLimits,
  ) {
    this.budgetSlabs = Math.floor(limits.byteBudget / layout.byteSize);
    this.executors = stages.flatMap((s) => s.executors);
    this.slabs = new ItemSlabs(allocator, layout, chain.inputs, chain.outputs, this.executors);
    this.finished = SharedQueue.create(limits.outputQueueLimit);
    this.output = new OrderedOutput(
      () => this.closed && this.inFlight === 0,
      (item) => this.taken(item),
    );
  }

  /** Connects the executors to their queues; their threads never keep the process alive (setActive does). */
  start(): void {
    for (const stage of this.stages) {
      const to = this.stages[stage.index + 1]?.queue ?? this.finished;
      for (const executor of stage.executors) {
        executor.connect(placementsOf(this.layout, executor.inputs), placementsOf(this.layout, executor.outputs), stage.queue, to);
        executor.unref();
      }
    }
    this.hangTimer = watchPipeline({
      stages: this.stages,
      hangTimeoutMs: this.limits.hangTimeoutMs,
      stalled: () => this.stalled(),
      fail: (failure) => this.fail(failure),
    });
  }

  /**
   * The most items the limits allow in flight at once: the byte budget or the queues, whichever is
   * less. Each executor holds one item (running it, or holding it while the next queue is full).
   */
  get inFlightLimit(): number {
    const l = this.limits;
    const queues = l.inputQueueLimit + this.executors.length + (this.stages.length - 1) * l.stageQueueLimit + l.outputQueueLimit;
    return Math.min(this.budgetSlabs, queues);
  }

  get inFlight(): number {
    return this.nextSeq - this.output.popped;
  }

  /**
   * Outputs that may be held as views at once: at most the option, and always one slab short of the
   * budget, so that holding them can never keep every push out.
   */
  get heldLimit(): number {
    return Math.max(0, Math.min(this.limits.heldOutputLimit, this.budgetSlabs - 1));
  }

  private hasRoom(): boolean {
    // Failed items count too, until popped. Held outputs' slabs count against the byte budget. This
    // thread alone puts into the first queue, so room seen there stays until it puts.
    const first = this.stages[0]!.queue;
    return first.length < first.limit && this.inFlight < this.inFlightLimit && this.inFlight + this.held < this.budgetSlabs;
  }

  // ---- push ----

  async push(inputs: NamedTensors): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.closed) throw new PipelineClosedError();
    checkNamedTensors(this.chain.inputs, inputs, 'push');
    // Copied into the item's slab now, so that the caller may reuse its buffers as soon as push
    // returns, awaited or not; a waiting push's slab comes from the pool too, so waiting allocates nothing.
    const slab = this.slabs.acquire();
    this.slabs.writeInputs(slab, inputs);
    if (!this.hasRoom() || this.pushWaiters.length > 0) {
      return new Promise<void>((resolve, reject) => this.pushWaiters.push({ slab, resolve, reject }));
    }
    this.admit(slab);
  }

  tryPush(inputs: NamedTensors): boolean {
    if (this.failure) throw this.failure;
    if (this.closed) throw new PipelineClosedError();
    checkNamedTensors(this.chain.inputs, inputs, 'tryPush');
    if (!this.hasRoom() || this.pushWaiters.length > 0) return false;
    const slab = this.slabs.acquire();
    this.slabs.writeInputs(slab, inputs);
    this.admit(slab);
    return true;
  }

  private admit(slab: SharedArrayBuffer): void {
    const item: Item = { seq: this.nextSeq++, slab, pushedAt: performance.now() };
    this.inStages.set(item.seq, item);
    this.setActive(true);
    this.stages[0]!.queue.put(item.seq, this.slabs.id(slab));
    if (!this.watchingFinished) this.takeFinished();
  }

  /**
   * Admits waiting pushes while there is room, oldest first. Room in the first queue is looked for when
   * this thread wakes anyway (an item finished, popped or released), not on each take from it: every
   * item there finishes in time, and waking for takes as well would double this thread's wake-ups.
   */
  private wakePushers(): void {
    while (this.pushWaiters.length > 0 && this.hasRoom() && !this.closed) {
      const waiter = this.pushWaiters.shift()!;
      this.admit(waiter.slab);
      waiter.resolve();
    }
  }

  // ---- finished items ----

  /**
   * Takes what the last stage finished, then waits for its next put while items are in the stages
   * (a wait pins this object, so there is none when nothing can come).
   */
  private takeFinished = (): void => {
    this.watchingFinished = true;
    if (this.failure) {
      this.watchingFinished = false;
      return;
    }
    const puts = this.finished.puts;
    for (let entry = this.finished.take(); entry; entry = this.finished.take()) this.finish(this.inStages.get(entry.seq)!);
    this.wakePushers();
    if (this.inStages.size > 0) void this.finished.afterPut(puts).then(this.takeFinished);
    else this.watchingFinished = false;
  };

  onFailed(stageIndex: number, replica: number, seq: number, error: ErrorInfo): void {
    const item = this.inStages.get(seq);
    if (!item) return;
    const stage = this.stages[stageIndex]!;
    item.error = new SegmentInvokeError(stage.label, stage.executors[replica]!.device, error);
    this.slabs.release(item.slab!);
    item.slab = undefined;
    this.finish(item);
    this.wakePushers();
  }

  private finish(item: Item): void {
    this.inStages.delete(item.seq);
    this.output.add(item);
    this.endToEnd.add(performance.now() - item.pushedAt);
    this.setActive(this.inStages.size > 0);
    this.output.deliver();
    if (this.inStages.size === 0) this.settleClose?.();
  }

  /**
   * An item left the output for a pop: its slab is held until the runner gives it back, and its place
   * lets a waiting push get in.
   */
  private taken(item: Item): void {
    if (item.slab) this.held++;
    this.wakePushers();
  }

  // ---- pop ----

  /** The next item in push order; after a failure, those finished before it still come out first. */
  async pop(): Promise<Item | null> {
    if (!this.output.waiting) {
      const item = this.output.takeNext();
      if (item) this.taken(item);
      if (item !== undefined) return item;
    }
    if (this.failure) throw this.failure;
    return this.output.wait();
  }

  /** Whether the item just popped may be handed out as views of its slab (it is held already). */
  keepsView(): boolean {
    return this.held <= this.heldLimit;
  }

  /** A held output was released, or copied out at once: its slab goes back, and a push may get in. */
  releaseHeld(slab: SharedArrayBuffer): void {
    this.held--;
    this.slabs.release(slab);
    this.wakePushers();
  }

  /** A held output was collected without release(): its slab cannot be reused (a view of it may live on elsewhere) but no longer counts. */
  dropHeld(slabId: number): void {
    this.held--;
    this.slabs.forgetId(slabId);
    this.wakePushers();
  }

  /**
   * Items in the stages, none running or finished since the last check, none waiting in the output
   * queue, and the one pop waits for not finished: nothing will ever move.
   */
  private stalled(): string | undefined {
    const progress = this.stages.reduce((n, stage) => n + stageProgress(stage), 0);
    const moved = progress !== this.progressSeen;
    this.progressSeen = progress;
    if (this.failure || this.inStages.size === 0 || this.output.nextFinished || this.finished.length > 0 || moved) return undefined;
    if (this.executors.some((e) => e.invokeRunningMs() !== undefined)) return undefined;
    return `${this.inStages.size} item(s) in flight but none running, item ${this.output.popped} awaited`;
  }

  // ---- shutdown and failure ----

  /** Stops accepting items; resolves once every accepted item has left the executors and they have ended. */
  close(): Promise<void> {
    this.closeDone ??= this.shutDown();
    return this.closeDone;
  }

  private async shutDown(): Promise<void> {
    this.closed = true;
    for (const waiter of this.pushWaiters.splice(0)) {
      this.slabs.release(waiter.slab);
      waiter.reject(new PipelineClosedError('pipeline closed while this push waited for room'));
    }
    // Finished items are never held back, so everything in flight drains without a consumer.
    if (this.inStages.size > 0 && !this.failure) {
      await new Promise<void>((resolve) => (this.settleClose = resolve));
    }
    this.output.deliver();
    clearInterval(this.hangTimer);
    this.stopWatching();
    await Promise.all(this.executors.map((e) => (this.failure ? e.terminate() : e.close())));
  }

  fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    clearInterval(this.hangTimer);
    for (const waiter of this.pushWaiters.splice(0)) {
      this.slabs.release(waiter.slab);
      waiter.reject(error);
    }
    // Pops already waiting get what finished before the failure, in order; the rest reject.
    this.output.deliver();
    this.output.rejectWaiters(error);
    this.settleClose?.();
    this.stopWatching();
    for (const executor of this.executors) void executor.terminate();
  }

  /** Ends this thread's wait on the output queue, which would otherwise pin this object for ever. */
  private stopWatching(): void {
    this.finished.wakeAll();
  }

  /**
   * The process stays alive while items are in the stages, and no longer: the watch timer is held
   * meanwhile (one handle, whatever the number of executors), since a wait on the output queue holds none.
   */
  private setActive(active: boolean): void {
    if (this.failure) return;
    if (active !== this.active) {
      this.active = active;
      if (active) this.hangTimer?.ref();
      else this.hangTimer?.unref();
    }
  }

  stats(): PipelineStats {
    return {
      segments: this.stages.map(segmentStats),
      pushed: this.nextSeq,
      popped: this.output.popped,
      inFlight: this.inFlight,
      outputsHeld: this.held,
      bytesHeld: (this.output.slabsHeld + this.inStages.size + this.held) * this.layout.byteSize,
      slabsUsed: this.slabs.used,
      latencyMsP50: this.endToEnd.percentile(50),
      latencyMsP99: this.endToEnd.percentile(99),
    };
  }
}
