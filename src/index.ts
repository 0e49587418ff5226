/**
 * coral-pipe as a library: the .tflite codec and segmenter, the pipelined runner, the engines and
 * devices they run on, and image/classification helpers.
 */
export * from './model/index.js';
export * from './model/segment/index.js';
export * from './pipeline/index.js';
export type { Engine } from './devices/engine.js';
export type { DType, NamedTensors, TensorData, TensorQuantization, TensorSpec } from './tensors/tensor.js';
export { EngineError } from './devices/engine.js';
export { loadCpuEngine, UnsupportedModelError, EngineInputError, type CpuEngineOptions } from './devices/cpu-engine.js';
export { loadEdgeTpuEngine, EdgeTpuUnavailableError, type EdgeTpuEngineOptions } from './devices/edgetpu-engine.js';
export { loadTfliteCpuEngine, XNNPACK_QUANTIZED, type TfliteCpuEngineOptions } from './devices/tflite-cpu-engine.js';
export { TfliteUnavailableError } from './devices/tflite-runtime.js';
export { openEngine, type EngineSpec } from './devices/open-engine.js';
export { PassThroughEngine } from './devices/passthrough-engine.js';
export { enumerateDevices, type EnumerateOptions, type Enumeration } from './devices/enumerate.js';
export { cpuDevices, isEdgeTpu, type Device, type DeviceType, type DeviceState, type DeviceHealth } from './devices/device.js';
export { acquireLease, acquireLeases, leaseHolder, DeviceBusyError, LeaseError, type Lease } from './devices/lease.js';
export { DeviceWatcher, type DeviceWatcherOptions } from './devices/hotplug.js';
export { imageToTensor, imageSize, ImageInputError } from './image/to-tensor.js';
export { readLabels, parseLabels, LabelsError, type Labels } from './classify/labels.js';
export { topK, type Classification } from './classify/top-k.js';
