/** The pipeline runner and its parts others reuse (chain analysis for check-chain). */
export { PipelinedModelRunner, type RunnerOptions } from './runner.js';
export { analyzeChain, ChainError, type ChainAnalysis, type ChainOptions, type ChainSegment, type SegmentFlow, type TensorFlow } from '../model/segment/chain.js';
export { PipelineClosedError, PipelineFailedError, SegmentInvokeError } from './errors.js';
export { SlabPool, type SlabAllocator } from './slab-pool.js';
export { TensorInputError } from '../tensors/tensor-check.js';
export { SegmentSourceError, type SegmentSource, type SegmentDevices } from './segment-source.js';
export type { PipelineStats, SegmentStats } from './stats.js';
export { segmentStatsTable } from './stats-table.js';
