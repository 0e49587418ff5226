/**
 * What moves items through a pipeline: admits pushes while the queues and byte budget have room,
 * dispatches each stage's queue to its executors, hands finished items on (holding them in the slot
 * while the next queue is full, which is the backpressure), and ends everything on close or failure.
 *
 * Executors' callbacks reference only the core, never the public runner, so a runner nobody holds
 * can be collected.
 */
import type { NamedTensors } from '../tensors/tensor.js';
import { checkNamedTensors } from '../tensors/tensor-check.js';
import type { ChainAnalysis } from '../model/segment/chain.js';
import { PipelineClosedError, SegmentInvokeError } from './errors.js';
import { watchPipeline } from './hang-watch.js';
import { writeInputs } from './item-tensors.js';
import { OrderedOutput } from './ordered-output.js';
import type { RunnerLimits } from './runner-options.js';
import type { SlabAllocator } from './slab-pool.js';
import type { SlabLayout } from './slab-layout.js';
import { placementsOf } from './slab-layout.js';
import { SlabTracker } from './slab-tracker.js';
import type { Item, Stage } from './stage.js';
import { SLOT_DEPTH, freeSlot, segmentStats, settle } from './stage.js';
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

export class PipelineCore {
  readonly executors: readonly WorkerExecutor[];
  readonly slabs: SlabTracker;
  private readonly output: OrderedOutput;
  private nextSeq = 0;
  /** Pushes waiting for room, oldest first. */
  private readonly pushWaiters: PushWaiter[] = [];
  private inStages = 0;
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
  /** Whether the workers are held (ref'd) because items are in the stages. */
  private active = false;
  private hangTimer: NodeJS.Timeout | undefined;
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
    this.executors = stages.flatMap((s) => s.slots.map((slot) => slot.executor));
    this.slabs = new SlabTracker(allocator, layout.byteSize, this.executors);
    this.output = new OrderedOutput(
      limits.outputQueueLimit,
      () => this.closed && this.inFlight === 0,
      (item) => this.taken(item),
    );
  }

  /** Tells the executors where their tensors are and lets them idle without keeping the process alive. */
  start(): void {
    for (const executor of this.executors) {
      executor.setLayout(placementsOf(this.layout, executor.inputs), placementsOf(this.layout, executor.outputs));
      executor.hold(false);
    }
    this.hangTimer = watchPipeline({
      stages: this.stages,
      hangTimeoutMs: this.limits.hangTimeoutMs,
      stalled: () => this.stalled(),
      fail: (failure) => this.fail(failure),
    });
  }

  /** The most items the limits allow in flight at once: the byte budget or the queues, whichever is less. */
  get inFlightLimit(): number {
    const l = this.limits;
    const slots = this.stages.reduce((n, s) => n + s.slots.length, 0);
    // +1: the item pop waits for is always let into a full output queue.
    const queues = l.inputQueueLimit + slots * SLOT_DEPTH + (this.stages.length - 1) * l.stageQueueLimit + l.outputQueueLimit + 1;
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
    // inFlightLimit, not only the byte budget: items replicas finished out of order may wait in the
    // output beyond its limit (see OrderedOutput.hasRoom), which must not let more in than the limits
    // say; failed items count too, until popped. Held outputs' slabs count against the byte budget.
    return (
      this.stages[0]!.queue.length < this.limits.inputQueueLimit &&
      this.inFlight < this.inFlightLimit &&
      this.inFlight + this.held < this.budgetSlabs
    );
  }

  // ---- push ----

  async push(inputs: NamedTensors): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.closed) throw new PipelineClosedError();
    checkNamedTensors(this.chain.inputs, inputs, 'push');
    // Copied into the item's slab now, so that the caller may reuse its buffers as soon as push
    // returns, awaited or not; a waiting push's slab comes from the pool too, so waiting allocates nothing.
    const slab = this.slabs.acquire();
    writeInputs(this.layout, this.chain.inputs, inputs, slab);
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
    writeInputs(this.layout, this.chain.inputs, inputs, slab);
    this.admit(slab);
    return true;
  }

  private admit(slab: SharedArrayBuffer): void {
    const item: Item = { seq: this.nextSeq++, slab, pushedAt: performance.now() };
    this.inStages++;
    this.setActive(true);
    this.enqueue(this.stages[0]!, item);
  }

  /** Admits waiting pushes while there is room, oldest first. */
  private wakePushers(): void {
    while (this.pushWaiters.length > 0 && this.hasRoom() && !this.closed) {
      const waiter = this.pushWaiters.shift()!;
      this.admit(waiter.slab);
      waiter.resolve();
    }
  }

  // ---- moving items ----

  private enqueue(stage: Stage, item: Item): void {
    stage.queue.push(item);
    if (stage.queue.length > stage.queueMax) stage.queueMax = stage.queue.length;
    this.dispatch(stage);
  }

  private dispatch(stage: Stage): void {
    while (stage.queue.length > 0) {
      const free = freeSlot(stage);
      if (!free) return;
      const item = stage.queue.shift()!;
      if (free.running.push(item) === 1) free.startedAt = performance.now();
      free.executor.run(item.seq, this.slabs.id(item.slab!), item.slab!);
      this.roomFreed(stage);
    }
  }

  /** An item left `stage`'s queue: a blocked upstream slot can hand its item on, or a push get in. */
  private roomFreed(stage: Stage): void {
    if (stage.index === 0) return this.wakePushers();
    const upstream = this.stages[stage.index - 1]!;
    for (const slot of upstream.slots) {
      while (slot.blocked.length > 0 && stage.queue.length < this.limits.stageQueueLimit) {
        this.enqueue(stage, slot.blocked.shift()!);
        if (slot.blocked.length === 0) this.dispatch(upstream);
      }
    }
  }

  onDone(stageIndex: number, replica: number, seq: number, busyMs: number): void {
    const stage = this.stages[stageIndex]!;
    const slot = stage.slots[replica]!;
    const item = settle(stage, slot, seq);
    if (!item) return;
    stage.count++;
    stage.busyMs += busyMs;
    slot.count++;
    slot.busyMs += busyMs;
    const next = this.stages[stage.index + 1];
    if (slot.blocked.length > 0) slot.blocked.push(item);
    else if (next) {
      if (next.queue.length < this.limits.stageQueueLimit) this.enqueue(next, item);
      else slot.blocked.push(item);
    } else if (this.outputHasRoom(item)) {
      this.finish(item);
    } else {
      slot.blocked.push(item);
    }
    this.dispatch(stage);
  }

  onFailed(stageIndex: number, replica: number, seq: number, error: ErrorInfo): void {
    const stage = this.stages[stageIndex]!;
    const slot = stage.slots[replica]!;
    const item = settle(stage, slot, seq);
    if (!item) return;
    stage.failures++;
    slot.failures++;
    item.error = new SegmentInvokeError(stage.label, slot.executor.device, error);
    this.slabs.release(item.slab!);
    item.slab = undefined;
    this.finish(item);
    this.dispatch(stage);
  }

  private outputHasRoom(item: Item): boolean {
    return this.closed || this.output.hasRoom(item);
  }

  private finish(item: Item): void {
    this.output.add(item);
    this.endToEnd.add(performance.now() - item.pushedAt);
    this.inStages--;
    this.setActive(this.inStages > 0);
    this.output.deliver();
    if (this.inStages === 0) this.settleClose?.();
  }

  /**
   * An item left the output for a pop: its slab is held until the runner gives it back, and its place
   * lets a blocked last stage finish its items and a waiting push get in.
   */
  private taken(item: Item): void {
    if (item.slab) this.held++;
    this.unblockOutput();
    this.wakePushers();
  }

  private unblockOutput(): void {
    const last = this.stages[this.stages.length - 1]!;
    for (const slot of last.slots) {
      while (slot.blocked.length > 0 && this.outputHasRoom(slot.blocked[0]!)) {
        this.finish(slot.blocked.shift()!);
        if (slot.blocked.length === 0) this.dispatch(last);
      }
    }
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



  /** Items in the stages, none running, and the one pop waits for not finished: nothing will ever move. */
  private stalled(): string | undefined {
    if (this.failure || this.inStages === 0 || this.output.nextFinished) return undefined;
    if (this.stages.some((stage) => stage.slots.some((slot) => slot.running.length > 0))) return undefined;
    return `${this.inStages} item(s) in flight but none running, item ${this.output.popped} awaited`;
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
    // The output limit no longer applies, so everything in flight can drain without a consumer.
    this.unblockOutput();
    if (this.inStages > 0 && !this.failure) {
      await new Promise<void>((resolve) => (this.settleClose = resolve));
    }
    this.output.deliver();
    clearInterval(this.hangTimer);
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
    for (const executor of this.executors) void executor.terminate();
  }

  /** Workers keep the process alive only while items are inside them or queued for them. */
  private setActive(active: boolean): void {
    if (this.failure) return;
    if (active !== this.active) {
      this.active = active;
      for (const executor of this.executors) executor.hold(active);
    }
  }

  stats(): PipelineStats {
    return {
      segments: this.stages.map(segmentStats),
      pushed: this.nextSeq,
      popped: this.output.popped,
      inFlight: this.inFlight,
      outputsHeld: this.held,
      bytesHeld: (this.output.slabsHeld + this.inStages + this.held) * this.layout.byteSize,
      slabsUsed: this.slabs.used,
      latencyMsP50: this.endToEnd.percentile(50),
      latencyMsP99: this.endToEnd.percentile(99),
    };
  }
}
