/**
 * PipelinedModelRunner: segments of one model on parallel executors, fed FIFO with push and drained
 * with pop. Unlike libcoral's it checks the chain and inputs instead of aborting, bounds its memory by
 * default, fails only the item whose invoke failed, and turns a dead or hung executor into errors on
 * every pending and later call instead of a hang.
 *
 * The public object is a thin shell over PipelineCore: workers' callbacks reference only the core, so
 * a runner nobody holds can be collected, and a FinalizationRegistry then ends its workers.
 */
import type { NamedTensors, TensorData, TensorSpec } from '../devices/engine.js';
import { EngineError } from '../devices/engine.js';
import { bytesOf, viewAs } from '../devices/dtype.js';
import { engineDevice } from '../devices/open-engine.js';
import type { ChainAnalysis, ChainOptions } from './chain.js';
import { analyzeChain } from './chain.js';
import { PipelineClosedError, PipelineFailedError, SegmentInvokeError } from './errors.js';
import type { ResolvedSegment, SegmentDevices, SegmentSource } from './segment-source.js';
import { resolveSegments } from './segment-source.js';
import type { SlabAllocator } from './slab-pool.js';
import { SlabPool } from './slab-pool.js';
import type { SlabLayout } from './slab-layout.js';
import { placementsOf, planSlab } from './slab-layout.js';
import type { PipelineStats } from './stats.js';
import { RecentSamples } from './stats.js';
import { TensorInputError, checkNamedTensors } from '../devices/tensor-check.js';
import type { ErrorInfo } from './worker-protocol.js';
import { WorkerExecutor } from './worker-executor.js';

export interface RunnerOptions extends SegmentDevices, ChainOptions {
  /** Items accepted by push and waiting for the first segment (default 4). */
  readonly inputQueueLimit?: number;
  /** Items finished by one segment and waiting for the next (default 2). */
  readonly stageQueueLimit?: number;
  /** Items finished and waiting for pop (default 4). */
  readonly outputQueueLimit?: number;
  /** Most bytes of item slabs in flight (default 256 MiB); push waits beyond it. */
  readonly byteBudget?: number;
  /** An executor that has not answered after this long fails the pipeline as hung (default 60 s; 0 = never). */
  readonly hangTimeoutMs?: number;
  /** An engine that has not opened after this long fails create (default 60 s; 0 = never). */
  readonly openTimeoutMs?: number;
  /** Where item slabs come from (default: a reusing pool). */
  readonly allocator?: SlabAllocator;
}

const DEFAULTS = {
  inputQueueLimit: 4,
  stageQueueLimit: 2,
  outputQueueLimit: 4,
  byteBudget: 256 * 2 ** 20,
  hangTimeoutMs: 60_000,
  openTimeoutMs: 60_000,
};

interface Item {
  readonly seq: number;
  slab: SharedArrayBuffer | undefined;
  readonly pushedAt: number;
  error?: Error;
}

/**
 * Items posted to one executor at a time: the second waits inside the worker, so the worker starts it
 * without a round trip to this thread.
 */
const SLOT_DEPTH = 2;

interface Slot {
  readonly executor: WorkerExecutor;
  /** Items posted to the executor, oldest (running) first, and when the oldest started. */
  readonly running: Item[];
  startedAt: number;
  /** Finished items the next queue had no room for: the slot takes no work until they move on. */
  readonly blocked: Item[];
}

interface Stage {
  readonly index: number;
  readonly name: string;
  /** How errors name it: `segment 1 (file.tflite)`. */
  readonly label: string;
  readonly slots: Slot[];
  /** Items waiting for this stage. */
  readonly queue: Item[];
  queueMax: number;
  count: number;
  failures: number;
  busyMs: number;
  readonly latency: RecentSamples;
}

interface Waiter<T> {
  resolve(value: T): void;
  reject(err: Error): void;
}

class PipelineCore {
  readonly stages: Stage[] = [];
  private nextSeq = 0;
  private nextPopSeq = 0;
  /** Items done (or failed), by sequence number, until popped in order. */
  private readonly finished = new Map<number, Item>();
  /** Pushes waiting for room, oldest first, with the inputs they will admit. */
  private readonly pushWaiters: (Waiter<void> & { inputs: NamedTensors })[] = [];
  private readonly popWaiters: Waiter<Item | null>[] = [];
  private inStages = 0;
  /** Ids by which executors know each slab they have been given. */
  private readonly slabIds = new WeakMap<SharedArrayBuffer, number>();
  private nextSlabId = 0;
  private readonly endToEnd = new RecentSamples();
  private closed = false;
  failure: Error | undefined;
  private closeDone: Promise<void> | undefined;
  /** Resolves the wait in close() once no item is left in a stage. */
  private settleClose: (() => void) | undefined;
  /** Whether the workers are held (ref'd) because items are in the stages. */
  private active = false;
  private hangTimer: NodeJS.Timeout | undefined;
  readonly maxInFlight: number;
  readonly limits: typeof DEFAULTS;

  constructor(
    readonly chain: ChainAnalysis,
    readonly layout: SlabLayout,
    private readonly allocator: SlabAllocator,
    limits: typeof DEFAULTS,
  ) {
    this.limits = limits;
    this.maxInFlight = Math.floor(limits.byteBudget / layout.byteSize);
  }

  addStage(segment: ResolvedSegment, executors: WorkerExecutor[]): void {
    const index = this.stages.length;
    this.stages.push({
      index,
      name: segment.name,
      label: labelOf(index, segment),
      slots: executors.map((executor) => ({ executor, running: [], startedAt: 0, blocked: [] })),
      queue: [],
      queueMax: 0,
      count: 0,
      failures: 0,
      busyMs: 0,
      latency: new RecentSamples(),
    });
  }

  start(): void {
    const layout = this.layout;
    for (const stage of this.stages) {
      for (const slot of stage.slots) {
        slot.executor.setLayout(placementsOf(layout, slot.executor.inputs), placementsOf(layout, slot.executor.outputs));
        slot.executor.hold(false);
      }
    }
    if (this.limits.hangTimeoutMs > 0) {
      this.hangTimer = setInterval(() => this.checkHangs(), Math.max(5, this.limits.hangTimeoutMs / 4));
      this.hangTimer.unref();
    }
  }

  /** The most items the limits allow in flight at once: the byte budget or the queues, whichever is less. */
  get inFlightLimit(): number {
    const l = this.limits;
    const slots = this.stages.reduce((n, s) => n + s.slots.length, 0);
    // +1: the item pop waits for is always let into a full output queue.
    const queues = l.inputQueueLimit + slots * SLOT_DEPTH + (this.stages.length - 1) * l.stageQueueLimit + l.outputQueueLimit + 1;
    return Math.min(this.maxInFlight, queues);
  }

  get inFlight(): number {
    return this.nextSeq - this.nextPopSeq;
  }

  private hasRoom(): boolean {
    return this.stages[0]!.queue.length < this.limits.inputQueueLimit && this.inFlight < this.maxInFlight;
  }

  // ---- push ----

  async push(inputs: NamedTensors): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.closed) throw new PipelineClosedError();
    checkNamedTensors(this.chain.inputs, inputs, 'push');
    if (!this.hasRoom() || this.pushWaiters.length > 0) {
      return new Promise<void>((resolve, reject) => this.pushWaiters.push({ inputs, resolve, reject }));
    }
    this.admit(inputs);
  }

  tryPush(inputs: NamedTensors): boolean {
    if (this.failure) throw this.failure;
    if (this.closed) throw new PipelineClosedError();
    checkNamedTensors(this.chain.inputs, inputs, 'tryPush');
    if (!this.hasRoom() || this.pushWaiters.length > 0) return false;
    this.admit(inputs);
    return true;
  }

  private admit(inputs: NamedTensors): void {
    const slab = this.allocator.acquire(this.layout.byteSize);
    if (slab.byteLength < this.layout.byteSize) {
      throw new RangeError(`allocator gave a slab of ${slab.byteLength} bytes; items need ${this.layout.byteSize}`);
    }
    for (const spec of this.chain.inputs) {
      const p = this.layout.placements.get(spec.name)!;
      new Uint8Array(slab, p.byteOffset, p.byteSize).set(bytesOf(inputs[spec.name]!));
    }
    const item: Item = { seq: this.nextSeq++, slab, pushedAt: performance.now() };
    this.inStages++;
    this.setActive(true);
    this.enqueue(this.stages[0]!, item);
  }

  /** Admits waiting pushes while there is room, oldest first. */
  private wakePushers(): void {
    while (this.pushWaiters.length > 0 && this.hasRoom() && !this.closed) {
      const waiter = this.pushWaiters.shift()!;
      try {
        this.admit(waiter.inputs);
        waiter.resolve();
      } catch (err) {
        waiter.reject(err as Error);
      }
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
      let free: Slot | undefined;
      for (const slot of stage.slots) {
        if (slot.blocked.length === 0 && slot.running.length < SLOT_DEPTH && (!free || slot.running.length < free.running.length)) {
          free = slot;
        }
      }
      if (!free) return;
      const item = stage.queue.shift()!;
      if (free.running.push(item) === 1) free.startedAt = performance.now();
      free.executor.run(item.seq, this.slabId(item.slab!), item.slab!);
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

  onDone(stage: Stage, slot: Slot, seq: number, busyMs: number): void {
    const item = this.settle(stage, slot, seq);
    if (!item) return;
    stage.count++;
    stage.busyMs += busyMs;
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

  onFailed(stage: Stage, slot: Slot, seq: number, error: ErrorInfo): void {
    const item = this.settle(stage, slot, seq);
    if (!item) return;
    stage.failures++;
    item.error = new SegmentInvokeError(stage.label, slot.executor.device, error);
    this.releaseSlab(item.slab!);
    item.slab = undefined;
    this.finish(item);
    this.dispatch(stage);
  }

  /** Takes the executor's oldest item off it, recording its latency; the next one starts now. */
  private settle(stage: Stage, slot: Slot, seq: number): Item | undefined {
    if (slot.running[0]?.seq !== seq) return undefined;
    const now = performance.now();
    const item = slot.running.shift()!;
    stage.latency.add(now - slot.startedAt);
    slot.startedAt = now;
    return item;
  }

  /** Out-of-order items (replicas) wait beside the limit; the next item to pop is always let in. */
  private outputHasRoom(item: Item): boolean {
    return this.closed || item.seq === this.nextPopSeq || this.finished.size < this.limits.outputQueueLimit;
  }

  private finish(item: Item): void {
    this.finished.set(item.seq, item);
    this.endToEnd.add(performance.now() - item.pushedAt);
    this.inStages--;
    this.setActive(this.inStages > 0);
    this.deliver();
    if (this.inStages === 0) this.settleClose?.();
  }

  private deliver(): void {
    while (this.popWaiters.length > 0) {
      const item = this.takeNext();
      if (item === undefined) break;
      this.popWaiters.shift()!.resolve(item);
      // Only now: the room this makes may finish the next item and deliver it to the next waiter.
      if (item) this.roomForOutput();
    }
    if (this.popWaiters.length > 0 && this.closed && this.inFlight === 0) {
      for (const waiter of this.popWaiters.splice(0)) waiter.resolve(null);
    }
  }

  /** The oldest item if it is ready, else undefined; null at the end of a closed stream. */
  private takeNext(): Item | null | undefined {
    const item = this.finished.get(this.nextPopSeq);
    if (!item) return this.closed && this.inFlight === 0 ? null : undefined;
    this.finished.delete(this.nextPopSeq++);
    return item;
  }

  /** An item was popped: a blocked last stage can finish its items, a waiting push get in. */
  private roomForOutput(): void {
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

  async pop(): Promise<Item | null> {
    if (this.failure) throw this.failure;
    if (this.popWaiters.length === 0) {
      const item = this.takeNext();
      if (item) this.roomForOutput();
      if (item !== undefined) return item;
    }
    return new Promise<Item | null>((resolve, reject) => this.popWaiters.push({ resolve, reject }));
  }

  slabId(slab: SharedArrayBuffer): number {
    let id = this.slabIds.get(slab);
    if (id === undefined) this.slabIds.set(slab, (id = this.nextSlabId++));
    return id;
  }

  releaseSlab(slab: SharedArrayBuffer): void {
    if (!this.allocator.release(slab)) this.forgetSlab(this.slabId(slab));
  }

  /** No executor will see this slab again: they drop their references so it can be freed. */
  forgetSlab(id: number): void {
    for (const executor of this.executors()) executor.forget(id);
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
      waiter.reject(new PipelineClosedError('pipeline closed while this push waited for room'));
    }
    // The output limit no longer applies, so everything in flight can drain without a consumer.
    this.unblockOutput();
    if (this.inStages > 0 && !this.failure) {
      await new Promise<void>((resolve) => (this.settleClose = resolve));
    }
    this.deliver();
    clearInterval(this.hangTimer);
    await Promise.all(this.executors().map((e) => (this.failure ? e.terminate() : e.close())));
  }

  fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    clearInterval(this.hangTimer);
    for (const waiter of [...this.pushWaiters.splice(0), ...this.popWaiters.splice(0)]) waiter.reject(error);
    this.settleClose?.();
    for (const executor of this.executors()) void executor.terminate();
  }

  executors(): WorkerExecutor[] {
    return this.stages.flatMap((s) => s.slots.map((slot) => slot.executor));
  }

  private checkHangs(): void {
    const now = performance.now();
    for (const stage of this.stages) {
      for (const slot of stage.slots) {
        if (slot.running.length > 0 && now - slot.startedAt > this.limits.hangTimeoutMs) {
          this.fail(
            new PipelineFailedError(stage.label, slot.executor.device, `did not answer within ${this.limits.hangTimeoutMs} ms (hung)`),
          );
          return;
        }
      }
    }
  }

  /** Workers keep the process alive only while items are inside them or queued for them. */
  private setActive(active: boolean): void {
    if (this.failure) return;
    if (active !== this.active) {
      this.active = active;
      for (const executor of this.executors()) executor.hold(active);
    }
  }

  stats(): PipelineStats {
    return {
      segments: this.stages.map((s) => ({
        name: s.name,
        devices: s.slots.map((slot) => slot.executor.device),
        count: s.count,
        failures: s.failures,
        busyMsTotal: s.busyMs,
        busyMsMean: s.count > 0 ? s.busyMs / s.count : 0,
        latencyMsP50: s.latency.percentile(50),
        latencyMsP99: s.latency.percentile(99),
        queueDepth: s.queue.length,
        queueDepthMax: s.queueMax,
      })),
      pushed: this.nextSeq,
      popped: this.nextPopSeq,
      inFlight: this.inFlight,
      bytesHeld: [...this.finished.values()].filter((i) => i.slab).length * this.layout.byteSize +
        this.inStages * this.layout.byteSize,
      latencyMsP50: this.endToEnd.percentile(50),
      latencyMsP99: this.endToEnd.percentile(99),
    };
  }
}

/** Ends the workers of runners that were dropped without close(). */
const abandoned = new FinalizationRegistry<PipelineCore>((core) => {
  for (const executor of core.executors()) void executor.terminate();
});

export class PipelinedModelRunner implements AsyncIterable<NamedTensors> {
  /** Which slab each popped output record views, for release(). */
  private readonly slabOf = new WeakMap<NamedTensors, SharedArrayBuffer>();
  /** Popped outputs collected without release(): their slabs never return, so executors forget them. */
  private readonly unreleased = new FinalizationRegistry<number>((id) => this.core.forgetSlab(id));

  private constructor(private readonly core: PipelineCore) {
    abandoned.register(this, core, this);
  }

  /**
   * Opens every segment's executors, checks the chain (rejecting with ChainError naming the missing
   * tensors and segments) and plans the item layout. With no options each segment gets its own CPU
   * executor.
   */
  static async create(segments: readonly SegmentSource[], options: RunnerOptions = {}): Promise<PipelinedModelRunner> {
    const limits = { ...DEFAULTS };
    for (const key of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
      const value = options[key];
      if (value === undefined) continue;
      const min = key === 'hangTimeoutMs' || key === 'openTimeoutMs' ? 0 : 1;
      if (!Number.isFinite(value) || value < min) throw new RangeError(`${key} must be a number >= ${min}, got ${value}`);
      limits[key] = value;
    }
    const resolved = await resolveSegments(segments, options);
    let core: PipelineCore | undefined;
    const early: Error[] = [];
    const opened = await Promise.allSettled(
      resolved.map((segment, index) =>
        Promise.all(
          segment.replicas.map((spec, replica) => {
            const slotOf = () => core!.stages[index]!.slots[replica];
            return WorkerExecutor.open(spec, {
              done: (seq, busyMs) => core && core.onDone(core.stages[index]!, slotOf()!, seq, busyMs),
              failed: (seq, error) => core && core.onFailed(core.stages[index]!, slotOf()!, seq, error),
              died: (err) => {
                const failure = new PipelineFailedError(labelOf(index, segment), engineDevice(spec), `died: ${err.message}`, err);
                if (core) core.fail(failure);
                else early.push(failure);
              },
            }, limits.openTimeoutMs).catch((err: unknown) => {
              if (!(err instanceof EngineError)) throw err;
              throw new EngineError(`${labelOf(index, segment)}: ${err.message}`, err.device, { cause: err.cause });
            });
          }),
        ),
      ),
    );
    const all = opened.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
    const firstError = opened.find((r) => r.status === 'rejected');
    const abort = async (err: unknown) => {
      await Promise.all(all.map((e) => e.terminate()));
      throw err;
    };
    if (firstError) return abort((firstError as PromiseRejectedResult).reason);
    const executors = (opened as PromiseFulfilledResult<WorkerExecutor[]>[]).map((r) => r.value);
    for (const [i, replicas] of executors.entries()) {
      const [first, ...rest] = replicas;
      for (const other of rest) {
        if (!sameSpecs(first!.inputs, other.inputs) || !sameSpecs(first!.outputs, other.outputs)) {
          return abort(new TensorInputError(`${labelOf(i, resolved[i]!)}: replica on ${other.device} has other tensors than on ${first!.device}`));
        }
      }
    }
    let chain: ChainAnalysis;
    try {
      chain = analyzeChain(
        executors.map((replicas, i) => ({ name: resolved[i]!.name, inputs: replicas[0]!.inputs, outputs: replicas[0]!.outputs })),
        chainOptions(options, resolved),
      );
    } catch (err) {
      return abort(err);
    }
    const layout = planSlab(chain);
    if (layout.byteSize > limits.byteBudget) {
      return abort(new RangeError(`byteBudget ${limits.byteBudget} is smaller than one item (${layout.byteSize} bytes)`));
    }
    core = new PipelineCore(chain, layout, options.allocator ?? new SlabPool(Math.floor(limits.byteBudget / layout.byteSize)), limits);
    executors.forEach((replicas, i) => core!.addStage(resolved[i]!, replicas));
    core.start();
    if (early.length > 0) core.fail(early[0]!);
    return new PipelinedModelRunner(core);
  }

  /** Every tensor the pipeline needs per item, in the order an array push uses. */
  get inputs(): readonly TensorSpec[] {
    return this.core.chain.inputs;
  }

  get outputs(): readonly TensorSpec[] {
    return this.core.chain.outputs;
  }

  get chain(): ChainAnalysis {
    return this.core.chain;
  }

  /** The most items in flight the limits allow; times itemBytes, the bound on the runner's tensor memory. */
  get inFlightLimit(): number {
    return this.core.inFlightLimit;
  }

  /** Bytes of one item's slab: the unit of the byte budget. */
  get itemBytes(): number {
    return this.core.layout.byteSize;
  }

  /**
   * Queues one item, waiting while the pipeline is full. Inputs by name, or an array in `inputs`
   * order. An empty array or record closes the pipeline (queued items still drain).
   */
  async push(inputs: NamedTensors | readonly TensorData[]): Promise<void> {
    const named = this.named(inputs);
    if (named === undefined) return this.close();
    return this.core.push(named);
  }

  /** Like push, but returns false at once instead of waiting when the pipeline is full. */
  tryPush(inputs: NamedTensors | readonly TensorData[]): boolean {
    const named = this.named(inputs);
    if (named === undefined) {
      void this.close();
      return true;
    }
    return this.core.tryPush(named);
  }

  /**
   * The outputs of the oldest item, by name, viewing the item's memory; null once closed and drained.
   * Rejects with SegmentInvokeError if that item's inference failed, and with PipelineFailedError once
   * the pipeline has failed. Pass the outputs to release() when done to let the memory be reused.
   */
  async pop(): Promise<NamedTensors | null> {
    const item = await this.core.pop();
    if (item === null) return null;
    if (item.error) throw item.error;
    const outputs: NamedTensors = {};
    for (const spec of this.core.chain.outputs) {
      const p = this.core.layout.placements.get(spec.name)!;
      outputs[spec.name] = viewAs(spec.dtype, new Uint8Array(item.slab!, p.byteOffset, p.byteSize));
    }
    this.slabOf.set(outputs, item.slab!);
    this.unreleased.register(outputs, this.core.slabId(item.slab!), outputs);
    return outputs;
  }

  /** Gives a popped item's memory back for reuse; its arrays must not be used afterwards. */
  release(outputs: NamedTensors): void {
    const slab = this.slabOf.get(outputs);
    if (!slab) return;
    this.slabOf.delete(outputs);
    this.unreleased.unregister(outputs);
    this.core.releaseSlab(slab);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<NamedTensors> {
    for (let out = await this.pop(); out !== null; out = await this.pop()) yield out;
  }

  /** Closes the pipeline: later pushes reject; resolves when in-flight items have drained. Idempotent. */
  async close(): Promise<void> {
    abandoned.unregister(this);
    await this.core.close();
  }

  stats(): PipelineStats {
    return this.core.stats();
  }

  private named(inputs: NamedTensors | readonly TensorData[]): NamedTensors | undefined {
    if (!Array.isArray(inputs)) {
      return Object.keys(inputs).length === 0 ? undefined : (inputs as NamedTensors);
    }
    const list = inputs as readonly TensorData[];
    if (list.length === 0) return undefined;
    const specs = this.core.chain.inputs;
    if (list.length !== specs.length) {
      throw new TensorInputError(`push: ${list.length} tensors given but the pipeline takes ${specs.length} (${specs.map((s) => `"${s.name}"`).join(', ')})`);
    }
    return Object.fromEntries(specs.map((s, i) => [s.name, list[i]!]));
  }
}

/** How errors name a segment: its position, and its file when it has one. */
function labelOf(index: number, segment: ResolvedSegment): string {
  return segment.name === `segment ${index}` ? segment.name : `segment ${index} (${segment.name})`;
}

/** The caller's model input/output names, else those the segment files record. */
function chainOptions(options: RunnerOptions, segments: readonly ResolvedSegment[]): ChainOptions {
  const recorded = (pick: (m: NonNullable<ResolvedSegment['model']>) => readonly string[]) => {
    const names = segments.flatMap((s) => (s.model ? pick(s.model) : []));
    return names.length > 0 ? [...new Set(names)] : undefined;
  };
  const modelInputs = options.modelInputs ?? recorded((m) => m.inputs);
  const modelOutputs = options.modelOutputs ?? recorded((m) => m.outputs);
  return { ...(modelInputs ? { modelInputs } : {}), ...(modelOutputs ? { modelOutputs } : {}) };
}

function sameSpecs(a: readonly TensorSpec[], b: readonly TensorSpec[]): boolean {
  return a.length === b.length && a.every((s, i) => s.name === b[i]!.name && s.dtype === b[i]!.dtype && s.byteSize === b[i]!.byteSize);
}
