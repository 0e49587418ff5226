/**
 * Opening a pipeline's executors and checking that they form one: replicas of a segment must agree
 * on their tensors, the segments must chain, and one item must fit the byte budget. On any failure
 * every executor opened so far is ended before the error is thrown.
 */
import { type TensorSpec, TensorInputError } from '../tensors/tensor.js';
import { EngineError } from '../devices/engine.js';
import { engineDevice } from '../devices/open-engine.js';
import type { ChainAnalysis, ChainOptions } from '../model/segment/chain.js';
import { analyzeChain } from '../model/segment/chain.js';
import { PipelineFailedError } from './errors.js';
import type { RunnerLimits, RunnerOptions } from './runner-options.js';
import type { ResolvedSegment } from './segment-source.js';
import { planSlab, type SlabLayout } from './slabs.js';
import { stageLabel } from './stage.js';
import type { ErrorInfo } from './worker-protocol.js';
import { WorkerExecutor } from './worker-executor.js';

/** What the executors report, by segment index and replica. */
export interface PipelineEvents {
  failed(stage: number, replica: number, seq: number, error: ErrorInfo): void;
  died(failure: PipelineFailedError): void;
}

export interface OpenedPipeline {
  /** Per segment, its replicas' executors. */
  readonly executors: readonly WorkerExecutor[][];
  readonly chain: ChainAnalysis;
  readonly layout: SlabLayout;
}

export async function openPipeline(
  segments: readonly ResolvedSegment[],
  options: RunnerOptions,
  limits: RunnerLimits,
  events: PipelineEvents,
): Promise<OpenedPipeline> {
  const opened = await Promise.allSettled(
    segments.map((segment, index) =>
      Promise.all(
        segment.replicas.map((spec, replica) =>
          WorkerExecutor.open(spec, {
            failed: (seq, error) => events.failed(index, replica, seq, error),
            died: (err) => events.died(new PipelineFailedError(stageLabel(index, segment), engineDevice(spec), `died: ${err.message}`, err)),
          }, limits.openTimeoutMs).catch((err: unknown) => {
            if (!(err instanceof EngineError)) throw err;
            throw new EngineError(`${stageLabel(index, segment)}: ${err.message}`, err.device, { cause: err.cause });
          }),
        ),
      ),
    ),
  );
  const all = opened.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
  const abort = async (err: unknown): Promise<never> => {
    await Promise.all(all.map((e) => e.terminate()));
    throw err;
  };
  const firstError = opened.find((r) => r.status === 'rejected');
  if (firstError) return abort((firstError as PromiseRejectedResult).reason);
  const executors = (opened as PromiseFulfilledResult<WorkerExecutor[]>[]).map((r) => r.value);
  for (const [i, replicas] of executors.entries()) {
    const [first, ...rest] = replicas;
    for (const other of rest) {
      if (!sameSpecs(first!.inputs, other.inputs) || !sameSpecs(first!.outputs, other.outputs)) {
        return abort(new TensorInputError(`${stageLabel(i, segments[i]!)}: replica on ${other.device} has other tensors than on ${first!.device}`));
      }
    }
  }
  let chain: ChainAnalysis;
  try {
    chain = analyzeChain(
      executors.map((replicas, i) => ({ name: segments[i]!.name, inputs: replicas[0]!.inputs, outputs: replicas[0]!.outputs })),
      chainOptions(options, segments),
    );
  } catch (err) {
    return abort(err);
  }
  const layout = planSlab(chain);
  if (layout.byteSize > limits.byteBudget) {
    return abort(new RangeError(`byteBudget ${limits.byteBudget} is smaller than one item (${layout.byteSize} bytes)`));
  }
  return { executors, chain, layout };
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
