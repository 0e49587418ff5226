/**
 * coral-pipe as a library, the package's entry point: the pipelined runner and what it runs on (engine
 * specs and engines), the .tflite codec and segmentation entry points, and image and top-k helpers.
 *
 * More, for tools built on coral-pipe, through subpath exports (see README "The library"):
 * `coral-pipe/model` (the codec's graph helpers and schema tables), `coral-pipe/segment` (each step of
 * segmentation), `coral-pipe/devices` (probes, leases, hot-plug). Nothing else is public.
 */

// The pipelined runner: push/pop by tensor name, its limits, stats and errors.
export { PipelinedModelRunner, type RunnerOptions } from './pipeline/runner.js';
export type { SegmentSource, SegmentDevices } from './pipeline/segment-source.js';
export { SegmentSourceError } from './pipeline/segment-source.js';
export { PipelineClosedError, PipelineFailedError, ReleaseError, SegmentInvokeError } from './pipeline/errors.js';
export { SlabPool, type SlabAllocator } from './pipeline/slabs.js';
export type { PipelineStats, SegmentStats } from './pipeline/stats.js';
export { ChainError } from './model/segment/chain.js';
export { TensorInputError } from './tensors/tensor.js';

// Tensors, as every engine and the runner take and give them.
export type { DType, NamedTensors, TensorData, TensorQuantization, TensorSpec } from './tensors/tensor.js';

// Engines: what a segment runs on.
export { EngineError, type Engine } from './devices/engine.js';
export { openEngine, type EngineSpec } from './devices/open-engine.js';
export { loadCpuEngine, UnsupportedModelError, EngineInputError, type CpuEngineOptions } from './devices/cpu-engine.js';
export { loadEdgeTpuEngine, EdgeTpuUnavailableError, type EdgeTpuEngineOptions } from './devices/edgetpu-engine.js';
export { loadTfliteCpuEngine, XNNPACK_QUANTIZED, type TfliteCpuEngineOptions } from './devices/tflite-cpu-engine.js';
export { TfliteUnavailableError } from './devices/tflite-runtime.js';

// The .tflite codec, segmentation and verification.
export { readModel } from './model/read-model.js';
export { writeModel } from './model/write-model.js';
export { ModelFormatError } from './model/errors.js';
export type { Model } from './model/types.js';
export { segmentModel, SegmentationError, segmentFileName, type Segment, type SegmentRequest, type Segmentation } from './model/segment/index.js';
export { verifySegments, type VerifyOptions, type VerifyReport } from './devices/verify-segments.js';

// Images in, classes out.
export { imageToTensor, imageSize, ImageInputError } from './image/to-tensor.js';
export { readLabels, LabelsError, type Labels } from './classify/labels.js';
export { topK, type ScoredClass } from './classify/top-k.js';
