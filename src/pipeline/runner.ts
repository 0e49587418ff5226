/**
 * PipelinedModelRunner: segments of one model on parallel executors, fed FIFO with push and drained
 * with pop. Unlike libcoral's it checks the chain and inputs instead of aborting, bounds its memory by
 * default, fails only the item whose invoke failed, and turns a dead or hung executor into errors on
 * every pending and later call instead of a hang.
 *
 * The public object is a thin shell over PipelineCore: workers' callbacks reference only the core, so
 * a runner nobody holds can be collected, and a FinalizationRegistry then ends its workers.
 */
import { type NamedTensors, type TensorData, type TensorSpec, TensorInputError } from '../tensors/tensor.js';
import type { ChainAnalysis } from '../model/segment/chain.js';
import { PipelineClosedError, ReleaseError } from './errors.js';
import { openPipeline } from './open-pipeline.js';
import { PipelineCore } from './pipeline-core.js';
import type { RunnerOptions } from './runner-options.js';
import { runnerLimits } from './runner-options.js';
import type { SegmentSource } from './segment-source.js';
import { resolveSegments } from './segment-source.js';
import { SlabPool } from './slabs.js';
import { newStage } from './stage.js';
import type { PipelineStats } from './stats.js';

export type { RunnerOptions } from './runner-options.js';

/** Ends the workers of runners that were dropped without close(). */
const abandoned = new FinalizationRegistry<PipelineCore>((core) => {
  for (const executor of core.executors) void executor.terminate();
});

export class PipelinedModelRunner implements AsyncIterable<NamedTensors> {
  /** Which slab each popped output record views, for release(). */
  private readonly slabOf = new WeakMap<NamedTensors, SharedArrayBuffer>();
  /** Records pop gave out as copies (the caller held too many views), and records already released. */
  private readonly detached = new WeakSet<NamedTensors>();
  private readonly released = new WeakSet<NamedTensors>();
  /** Popped outputs collected without release(): their slabs never return, so executors forget them. */
  private readonly unreleased = new FinalizationRegistry<number>((id) => this.core.dropHeld(id));
  /** Set by the first run(): from then on it alone pushes and pops. */
  private calls: RunCalls | undefined;
  /** Set by the first push, tryPush or pop: then run() could not pair its pops. */
  private streamed = false;

  private constructor(private readonly core: PipelineCore) {
    abandoned.register(this, core, this);
  }

  /**
   * Opens every segment's executors, checks the chain (rejecting with ChainError naming the missing
   * tensors and segments) and plans the item layout. With no options each segment gets its own CPU
   * executor.
   */
  static async create(segments: readonly SegmentSource[], options: RunnerOptions = {}): Promise<PipelinedModelRunner> {
    const limits = runnerLimits(options);
    const resolved = await resolveSegments(segments, options);
    let core: PipelineCore | undefined;
    // An executor may die while the others are still opening, before there is a core to fail.
    const early: Error[] = [];
    const { executors, chain, layout } = await openPipeline(resolved, options, limits, {
      failed: (stage, replica, seq, error) => core && core.onFailed(stage, replica, seq, error),
      died: (failure) => {
        if (core) core.fail(failure);
        else early.push(failure);
      },
    });
    const stages = executors.map((replicas, i) => newStage(i, resolved[i]!, replicas, i === 0 ? limits.inputQueueLimit : limits.stageQueueLimit));
    const allocator = options.allocator ?? new SlabPool(limits.byteBudget);
    core = new PipelineCore(chain, layout, stages, allocator, limits);
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

  /** What failed the pipeline (a dead or hung executor, a deadlock), once it has; pops still give what finished before. */
  get failure(): Error | undefined {
    return this.core.failure;
  }

  /** Bytes of one item's slab: the unit of the byte budget. */
  get itemBytes(): number {
    return this.core.layout.byteSize;
  }

  /**
   * Queues one item, waiting while the pipeline is full. Inputs by name, an array in `inputs` order,
   * or for a one-input pipeline the typed array itself; any typed array of the tensor's type, or raw
   * bytes (Uint8Array, Buffer, Uint8ClampedArray) of its size. The inputs are copied before push
   * returns, awaited or not, so the caller may reuse its buffers at once. An empty array or record
   * closes the pipeline (queued items still drain). Bad inputs throw TensorInputError saying what was
   * expected.
   */
  async push(inputs: PushInputs): Promise<void> {
    this.stream('push');
    const named = this.named(inputs, 'push');
    if (named === undefined) return this.close();
    return this.core.push(named);
  }

  /** Like push, but returns false at once instead of waiting when the pipeline is full. */
  tryPush(inputs: PushInputs): boolean {
    this.stream('tryPush');
    const named = this.named(inputs, 'tryPush');
    if (named === undefined) {
      void this.close();
      return true;
    }
    return this.core.tryPush(named);
  }

  /**
   * The outputs of the oldest item, by name; null once closed and drained. They view the item's memory
   * until release() gives it back; with `heldOutputLimit` outputs held unreleased, they are copies
   * instead, which need no release. Rejects with SegmentInvokeError if that item's inference failed,
   * and with PipelineFailedError once the pipeline has failed (after the items that finished before).
   */
  async pop(): Promise<NamedTensors | null> {
    this.stream('pop');
    return this.popOutputs();
  }

  /**
   * Runs one item: pushes it (waiting while the pipeline is full) and resolves with its outputs, which
   * follow pop()'s rules (views until release(), or copies). Calls may overlap: the pipeline works on
   * them together and each gets its own item's outputs. Rejects, for this call only, with
   * TensorInputError for bad inputs and SegmentInvokeError when this item's inference failed; with
   * PipelineFailedError or PipelineClosedError when the pipeline is down. A runner used through run()
   * cannot also pop().
   */
  async run(inputs: PushInputs): Promise<NamedTensors> {
    const named = this.named(inputs, 'run');
    if (named === undefined) throw new TensorInputError('run: no input tensors given (to close the runner, call close())');
    if (this.streamed) throw new Error('run: this runner is fed with push() and pop(); run() pairs its own pushes and pops, so use one or the other');
    this.calls ??= new RunCalls({ push: (item) => this.core.push(item), pop: () => this.popOutputs() });
    return this.calls.run(named);
  }

  private stream(where: string): void {
    if (this.calls !== undefined) throw new Error(`${where}: this runner is used through run(), which pushes and pops for itself; use one or the other`);
    this.streamed = true;
  }

  private async popOutputs(): Promise<NamedTensors | null> {
    const item = await this.core.pop();
    if (item === null) return null;
    if (item.error) throw item.error;
    const slab = item.slab!;
    const outputs = this.core.slabs.viewOutputs(slab);
    if (!this.core.keepsView()) {
      const copies = this.core.slabs.copyOutputs(outputs);
      this.core.releaseHeld(slab);
      this.detached.add(copies);
      return copies;
    }
    this.slabOf.set(outputs, slab);
    this.unreleased.register(outputs, this.core.slabs.id(slab), outputs);
    return outputs;
  }

  /**
   * Gives a popped item's memory back for reuse; its arrays must not be used afterwards (the next item
   * may overwrite them). Releasing a copy pop gave out does nothing. Throws ReleaseError for anything
   * else: a record released before, or one that is not an output of this runner's pop().
   */
  release(outputs: NamedTensors): void {
    const slab = this.slabOf.get(outputs);
    if (slab) {
      this.slabOf.delete(outputs);
      this.released.add(outputs);
      this.unreleased.unregister(outputs);
      this.core.releaseHeld(slab);
      return;
    }
    if (this.detached.has(outputs)) return;
    if (this.released.has(outputs)) throw new ReleaseError('release: these outputs were released already');
    throw new ReleaseError(`release: ${describeValue(outputs)} is not an output record this runner's pop() returned (a copy of one, or another runner's, cannot be released)`);
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

  /**
   * Inputs by name from what push was given; undefined for the empty record or array that closes the
   * pipeline. A bare typed array stands for the one input of a one-input pipeline.
   */
  private named(inputs: PushInputs, where: string): NamedTensors | undefined {
    const specs = this.core.chain.inputs;
    const expected = specs.map((s) => `"${s.name}"`).join(', ');
    if (ArrayBuffer.isView(inputs)) {
      if (specs.length === 1) return { [specs[0]!.name]: inputs as TensorData };
      throw new TensorInputError(`${where}: a single ${describeValue(inputs)} was given but the pipeline takes ${specs.length} inputs (${expected}): give them by name or as an array in that order`);
    }
    if (Array.isArray(inputs)) {
      const list = inputs as readonly TensorData[];
      if (list.length === 0) return undefined;
      if (list.length !== specs.length) throw new TensorInputError(`${where}: ${list.length} tensors given but the pipeline takes ${specs.length} (${expected})`);
      return Object.fromEntries(specs.map((s, i) => [s.name, list[i]!]));
    }
    if (inputs === null || typeof inputs !== 'object') {
      throw new TensorInputError(`${where}: takes the input tensors by name (${expected}), as an array in that order${specs.length === 1 ? ', or the one typed array' : ''}; got ${describeValue(inputs)}`);
    }
    return Object.keys(inputs).length === 0 ? undefined : (inputs as NamedTensors);
  }
}

interface Fifo {
  push(inputs: NamedTensors): Promise<void>;
  pop(): Promise<NamedTensors | null>;
}

interface Waiter {
  resolve(outputs: NamedTensors): void;
  reject(err: unknown): void;
}

/**
 * Request/response over the runner's FIFO, for callers with one item per request (the daemon's
 * frames): run(inputs) resolves with that item's outputs. Pushes go in the order of the calls and
 * one reader pops, so the n-th pop answers the n-th item pushed; an item whose push fails (bad
 * inputs, a closed or failed pipeline) rejects its own call and never enters the pairing.
 */
class RunCalls {
  /** Calls whose item is in the pipeline, in push order. */
  private readonly waiting: Waiter[] = [];
  private pushes: Promise<unknown> = Promise.resolve();
  private popping = false;

  constructor(private readonly fifo: Fifo) {}

  run(inputs: NamedTensors): Promise<NamedTensors> {
    const pushed = this.pushes.then(() => this.fifo.push(inputs));
    this.pushes = pushed.catch(() => undefined);
    return pushed.then(
      () =>
        new Promise<NamedTensors>((resolve, reject) => {
          this.waiting.push({ resolve, reject });
          void this.popLoop();
        }),
    );
  }

  /** Pops while calls wait; a failed item rejects its own call, a failed pipeline each call in turn. */
  private async popLoop(): Promise<void> {
    if (this.popping) return;
    this.popping = true;
    try {
      while (this.waiting.length > 0) {
        let outputs: NamedTensors | null;
        try {
          outputs = await this.fifo.pop();
        } catch (err) {
          this.waiting.shift()!.reject(err);
          continue;
        }
        if (outputs === null) {
          for (const waiter of this.waiting.splice(0)) waiter.reject(new PipelineClosedError('run: the pipeline closed before this item came out'));
          return;
        }
        this.waiting.shift()!.resolve(outputs);
      }
    } finally {
      this.popping = false;
    }
  }
}

/** What push takes: tensors by name, an array in input order, or for a one-input pipeline the typed array itself. */
export type PushInputs = NamedTensors | readonly TensorData[] | TensorData;

/** A value as an error message names it. */
function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return `${typeof value} ${String(value).slice(0, 40)}`;
  const name = value.constructor?.name ?? 'object';
  return ArrayBuffer.isView(value) ? `${name} of ${value.byteLength} bytes` : name;
}
