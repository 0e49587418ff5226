/**
 * Inference off the CPU, as on an appliance whose segments run on Edge TPUs, with no Edge TPU here:
 * each segment of a real split becomes an Edge TPU model (one edgetpu-custom-op with the real
 * segment's input and output tensors) run by the real TensorFlow Lite C library with the test suite's
 * stand-in libedgetpu (test/fakes/standin_edgetpu.c), whose delegate's invoke sleeps for as long as the
 * real segment takes on the CPU. The runner and the daemon then run through the real native addon and
 * TFLite, with one thread held per invoke as a real accelerator call holds it, and the cores are left
 * to decoding, MQTT and the broker. The numbers are not Edge TPU numbers.
 */
import { readFileSync } from 'node:fs';
import type { Device } from '../../src/devices/device.js';
import type { SegmentSource } from '../../src/pipeline/segment-source.js';
import { readyUsbTpu } from '../../test/helpers/fake-devices.js';
import { buildStandInEdgeTpu, standInCompiled } from '../../test/helpers/standin-edgetpu.js';

/** Plain data, so that a daemon child process can rebuild the same pipeline. */
export interface StandInPipeline {
  readonly libraries: { readonly edgetpu: string; readonly tflite: string };
  /** One stand-in USB Edge TPU per segment, as the USB probe would list it. */
  readonly devices: readonly Device[];
  /** The stand-in Edge TPU models, base64. */
  readonly models: readonly string[];
  readonly delaysMs: readonly number[];
}

/** Stand-ins for `segmentFiles`, segment i taking `delaysMs[i]` per invoke. */
export function standInPipeline(segmentFiles: readonly string[], delaysMs: readonly number[]): StandInPipeline {
  const libs = buildStandInEdgeTpu();
  const models = segmentFiles.map((file) => Buffer.from(standInCompiled(new Uint8Array(readFileSync(file)))).toString('base64'));
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
  return pipeline.models.map((base64, i) => {
    const { id, selector } = pipeline.devices[i]!;
    const delegateOptions = { 'StandIn.DelayUs': String(Math.round(pipeline.delaysMs[i]! * 1000)) };
    return [{ kind: 'edgetpu', model: new Uint8Array(Buffer.from(base64, 'base64')), device: { id, type: 'usb', selector }, libraries, delegateOptions }];
  });
}
