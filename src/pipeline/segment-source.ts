/** Turns what the caller passes for each segment (file, bytes or engine spec) into engine specs per device. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { EngineSpec } from '../devices/open-engine.js';
import { readModel } from '../model/index.js';
import { readSegmentInfo } from '../model/segment/segment-info.js';

/**
 * A .tflite path or its bytes (both run on the CPU engine), any engine spec, or a list of engine specs:
 * one per replica, each naming its own device (how Edge TPU segments are given).
 */
export type SegmentSource = string | Uint8Array | EngineSpec | readonly EngineSpec[];

export interface SegmentDevices {
  /** Per segment: one device, or several (replicas taking items in turn). */
  readonly devices?: readonly (string | readonly string[])[];
  /** Per segment: how many replicas to give it when `devices` is not given (default 1). */
  readonly replicas?: readonly number[];
}

export interface ResolvedSegment {
  readonly name: string;
  readonly replicas: readonly EngineSpec[];
  /** The whole model's input and output names, when the segment file records them (our segmenter does). */
  readonly model?: { readonly inputs: readonly string[]; readonly outputs: readonly string[] };
}

export class SegmentSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SegmentSourceError';
  }
}

/** A segment file's bytes; SegmentSourceError naming the segment and file when it cannot be read. */
export async function readSegmentFile(file: string, index: number): Promise<Uint8Array> {
  const bytes = await readFile(file).catch((err: NodeJS.ErrnoException) => {
    throw new SegmentSourceError(`cannot read segment ${index} "${file}": ${err.code ?? err.message}`);
  });
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function isSpecList(source: SegmentSource): source is readonly EngineSpec[] {
  return Array.isArray(source);
}

export async function resolveSegments(sources: readonly SegmentSource[], options: SegmentDevices): Promise<ResolvedSegment[]> {
  if (options.devices && options.devices.length !== sources.length) {
    throw new SegmentSourceError(`${sources.length} segments but devices for ${options.devices.length}`);
  }
  if (options.replicas && options.replicas.length !== sources.length) {
    throw new SegmentSourceError(`${sources.length} segments but replica counts for ${options.replicas.length}`);
  }
  const needsWasm = sources.some((s) => typeof s === 'string' || s instanceof Uint8Array || (isSpecList(s) ? s : [s]).some((x) => x.kind === 'cpu'));
  const wasm = needsWasm ? await (await import('../devices/litert/runtime.js')).compiledLiteRtWasm() : undefined;
  let nextCpu = 0;
  const resolved: ResolvedSegment[] = [];
  for (const [i, source] of sources.entries()) {
    let name = `segment ${i}`;
    if (isSpecList(source)) {
      if (source.length === 0) throw new SegmentSourceError(`segment ${i}: an empty list of engine specs`);
      if (options.devices?.[i] !== undefined || (options.replicas?.[i] ?? 1) !== 1) {
        throw new SegmentSourceError(`segment ${i}: its engine specs name their devices; give no devices or replicas for it`);
      }
      resolved.push({ name, replicas: source.map((s) => (s.kind === 'cpu' && !s.wasm ? { ...s, wasm } : s)) });
      continue;
    }
    let base: EngineSpec;
    if (typeof source === 'string') {
      name = path.basename(source);
      base = { kind: 'cpu', device: '', model: await readSegmentFile(source, i) };
    } else if (source instanceof Uint8Array) {
      base = { kind: 'cpu', device: '', model: source };
    } else if (source.kind === 'edgetpu') {
      // An Edge TPU spec holds a device reference, not a name to derive replicas from.
      if (options.devices?.[i] !== undefined || (options.replicas?.[i] ?? 1) !== 1) {
        throw new SegmentSourceError(`segment ${i}: for Edge TPU replicas give one engine spec per device`);
      }
      resolved.push({ name, replicas: [source] });
      continue;
    } else {
      base = source;
    }
    const count = options.replicas?.[i] ?? 1;
    if (!Number.isInteger(count) || count < 1) throw new SegmentSourceError(`segment ${i}: replica count must be a positive integer, got ${count}`);
    const given = options.devices?.[i];
    const devices =
      given === undefined
        ? Array.from({ length: count }, (_, r) =>
            base.kind === 'cpu' && !base.device ? `cpu:${nextCpu++}` : count > 1 ? `${base.device}#${r}` : base.device,
          )
        : typeof given === 'string' ? [given] : [...given];
    if (devices.length === 0) throw new SegmentSourceError(`segment ${i}: no device given`);
    const withWasm = base.kind === 'cpu' ? { ...base, wasm } : base;
    const info = base.kind === 'cpu' ? readSegmentInfo(readModel(base.model)) : undefined;
    resolved.push({
      name,
      replicas: devices.map((device) => ({ ...withWasm, device })),
      ...(info ? { model: { inputs: info.modelInputs, outputs: info.modelOutputs } } : {}),
    });
  }
  return resolved;
}
