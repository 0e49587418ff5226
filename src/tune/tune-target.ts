/**
 * What tune measures on: the devices (`--devices auto|N|LIST`) and, for them, where each layout's
 * segments come from (layout-segments.ts): CPU executors cut the model in memory; Edge TPUs need it
 * compiled, by `edgetpu_compiler` when one is at hand, else from compiled sets already on disk.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isCpuDeviceId, isEdgeTpu } from '../devices/device.js';
import { enumerateDevices, type Enumeration } from '../devices/enumerate.js';
import { findDevice } from '../devices/placement.js';
import { isEdgeTpuCompiled } from '../model/graph.js';
import { readModel } from '../model/read-model.js';
import { compiledCuts, compiledSets, cpuCuts, type SegmentSupply } from './layout-segments.js';

/** `auto`, a number of CPU executors, or device ids. */
export type DeviceRequest = 'auto' | number | readonly string[];

export interface TuneDevices {
  readonly ids: readonly string[];
  readonly edgeTpu: boolean;
  /** How `auto` chose, for the report. */
  readonly note?: string;
}

export class TuneTargetError extends Error {
  override name = 'TuneTargetError';
}

/** The devices a request names; `auto` takes every usable Edge TPU, else as many CPU executors as cores. */
export async function tuneDevices(request: DeviceRequest, enumerate: () => Promise<Enumeration> = () => enumerateDevices()): Promise<TuneDevices> {
  if (typeof request === 'number') return { ids: Array.from({ length: request }, (_, i) => `cpu:${i}`), edgeTpu: false };
  if (request !== 'auto') {
    const cpu = request.filter(isCpuDeviceId);
    if (cpu.length === request.length) return { ids: [...request], edgeTpu: false };
    if (cpu.length > 0) throw new TuneTargetError(`--devices mixes CPU executors (${cpu.join(', ')}) and Edge TPUs: tune measures one kind at a time`);
    // Stable ids, so that a config written with them still means the same devices after a replug.
    const present = (await enumerate()).devices;
    try {
      return { ids: request.map((id) => findDevice(id, present, '--devices').id), edgeTpu: true };
    } catch (err) {
      throw new TuneTargetError((err as Error).message, { cause: err });
    }
  }
  const tpus = (await enumerate()).devices.filter((d) => isEdgeTpu(d) && d.state === 'ready');
  if (tpus.length > 0) return { ids: tpus.map((d) => d.id), edgeTpu: true, note: `${tpus.length} Edge TPU(s) found` };
  const cores = os.availableParallelism();
  return { ids: Array.from({ length: cores }, (_, i) => `cpu:${i}`), edgeTpu: false, note: `no Edge TPU ready: ${cores} CPU executor(s), one per core` };
}

/** Whether `command` runs: a path to an executable, or a name found on PATH. */
export async function commandExists(command: string): Promise<boolean> {
  const candidates = command.includes('/') ? [command] : (process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((d) => path.join(d, command));
  for (const file of candidates) {
    if (await access(file, constants.X_OK).then(() => true, () => false)) return true;
  }
  return false;
}

export interface SupplyOptions {
  /** The compiler; `edgetpu_compiler` when on PATH. */
  readonly compiler?: string;
  /** More folders to look for compiled sets in. */
  readonly compiledDirs: readonly string[];
  /** Where compiled cuts go. */
  readonly workDir: string;
}

/** Where the segments of `file` come from for `devices`; TuneTargetError when the pair cannot work. */
export async function segmentSupply(file: string, bytes: Uint8Array, devices: TuneDevices, options: SupplyOptions): Promise<SegmentSupply> {
  const compiled = isEdgeTpuCompiled(readModel(bytes));
  if (!devices.edgeTpu) {
    if (compiled) throw new TuneTargetError(`${file} is compiled for the Edge TPU and CPU executors cannot run it: tune the CPU model, or give Edge TPUs with --devices`);
    return cpuCuts(bytes, file);
  }
  if (!compiled) {
    const compiler = options.compiler ?? 'edgetpu_compiler';
    if (await commandExists(compiler)) return compiledCuts(bytes, file, { compiler, workDir: options.workDir });
    if (options.compiler !== undefined) throw new TuneTargetError(`the compiler ${options.compiler} was not found or is not executable`);
  }
  try {
    return await compiledSets(file, options.compiledDirs);
  } catch (err) {
    throw new TuneTargetError((err as Error).message, { cause: err });
  }
}
