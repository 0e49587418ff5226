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
import { TensorInputError } from '../devices/tensor-check.js';
import type { ChainAnalysis } from './chain.js';
import { viewOutputs } from './item-tensors.js';
import { openPipeline } from './open-pipeline.js';
import { PipelineCore } from './pipeline-core.js';
import type { RunnerOptions } from './runner-options.js';
import { runnerLimits } from './runner-options.js';
import type { SegmentSource } from './segment-source.js';
import { resolveSegments } from './segment-source.js';
import { SlabPool } from './slab-pool.js';
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
  /** Popped outputs collected without release(): their slabs never return, so executors forget them. */
  private readonly unreleased = new FinalizationRegistry<number>((id) => this.core.slabs.forget(id));

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
      done: (stage, replica, seq, busyMs) => core && core.onDone(stage, replica, seq, busyMs),
      failed: (stage, replica, seq, error) => core && core.onFailed(stage, replica, seq, error),
      died: (failure) => {
        if (core) core.fail(failure);
        else early.push(failure);
      },
    });
    const stages = executors.map((replicas, i) => newStage(i, resolved[i]!, replicas));
    const allocator = options.allocator ?? new SlabPool(Math.floor(limits.byteBudget / layout.byteSize));
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
    const outputs = viewOutputs(this.core.layout, this.core.chain.outputs, item.slab!);
    this.slabOf.set(outputs, item.slab!);
    this.unreleased.register(outputs, this.core.slabs.id(item.slab!), outputs);
    return outputs;
  }

  /** Gives a popped item's memory back for reuse; its arrays must not be used afterwards. */
  release(outputs: NamedTensors): void {
    const slab = this.slabOf.get(outputs);
    if (!slab) return;
    this.slabOf.delete(outputs);
    this.unreleased.unregister(outputs);
    this.core.slabs.release(slab);
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
