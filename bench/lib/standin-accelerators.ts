/**
 * Inference off the CPU, as on an appliance whose segments run on Edge TPUs, with no Edge TPU here:
 * each segment of a real split becomes a model for the test suite's stand-in libedgetpu and
 * libtensorflowlite_c (test/fakes), with the real segment's input and output tensors, whose invoke
 * sleeps for as long as the real segment takes on the CPU. The runner and the daemon then run through
 * the real native addon, with one libuv pool thread held per invoke as a real accelerator call holds
 * it, and the cores are left to decoding, MQTT and the broker. The numbers are not Edge TPU numbers.
 */
import { readFileSync } from 'node:fs';
import type { Device } from '../../src/devices/device.js';
import type { TensorSpec } from '../../src/devices/engine.js';
import { readModel } from '../../src/model/index.js';
import { modelTensorSpecs } from '../../src/model/tensor-spec.js';
import type { SegmentSource } from '../../src/pipeline/segment-source.js';
import { buildFakeLibraries, fakeModel, type FakeTensor } from '../../test/helpers/fake-edgetpu.js';
import { readyUsbTpu } from '../../test/helpers/fake-devices.js';

/** Plain data, so that a daemon child process can rebuild the same pipeline. */
export interface StandInPipeline {
  readonly libraries: { readonly edgetpu: string; readonly tflite: string };
  /** One stand-in USB Edge TPU per segment, as the USB probe would list it. */
  readonly devices: readonly Device[];
  /** The stand-in models, as text. */
  readonly models: readonly string[];
  readonly delaysMs: readonly number[];
}

function fakeTensor(spec: TensorSpec): FakeTensor {
  if (spec.dtype !== 'uint8' && spec.dtype !== 'int8' && spec.dtype !== 'int32' && spec.dtype !== 'float32') {
    throw new Error(`tensor "${spec.name}" is ${spec.dtype}; the stand-in accelerator takes uint8, int8, int32 or float32`);
  }
  return { name: spec.name, type: spec.dtype, shape: spec.shape, ...(spec.quantization && { quant: spec.quantization }) };
}

/** Stand-ins for `segmentFiles`, segment i taking `delaysMs[i]` per invoke. */
export function standInPipeline(segmentFiles: readonly string[], delaysMs: readonly number[]): StandInPipeline {
  const libs = buildFakeLibraries();
  const models = segmentFiles.map((file, i) => {
    const { inputs, outputs } = modelTensorSpecs(readModel(new Uint8Array(readFileSync(file))));
    const model = fakeModel({ inputs: inputs.map(fakeTensor), outputs: outputs.map(fakeTensor), requiresEdgeTpu: true, invokeDelayUs: delaysMs[i]! * 1000 });
    return new TextDecoder().decode(model);
  });
  const devices = segmentFiles.map((_, i) => readyUsbTpu(i + 1));
  return { libraries: { edgetpu: libs.edgetpu, tflite: libs.tflite }, devices, models, delaysMs };
}

/** What the stand-in libedgetpu lists as present ($FAKE_EDGETPU_DEVICES): set it before opening a segment. */
export function standInDeviceList(pipeline: StandInPipeline): string {
  return pipeline.devices.map((d) => `${d.type}:${d.selector}`).join(',');
}

/** The runner's segments: one Edge TPU engine per segment, on its own stand-in device. */
export function standInSegments(pipeline: StandInPipeline): SegmentSource[] {
  const libraries = { edgetpu: [pipeline.libraries.edgetpu], tflite: [pipeline.libraries.tflite] };
  return pipeline.models.map((text, i) => {
    const { id, selector } = pipeline.devices[i]!;
    return [{ kind: 'edgetpu', model: new TextEncoder().encode(text), device: { id, type: 'usb', selector }, libraries }];
  });
}
