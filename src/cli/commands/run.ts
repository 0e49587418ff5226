import { randomFillSync } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { type TensorData, allocate, bytesOf, elementSize } from '../../tensors/tensor.js';
import type { Enumeration } from '../../devices/enumerate.js';
import { acquireLeases, type LeaseOptions } from '../../devices/lease.js';
import { executorKinds, runnerInput, type DevicesSetting, type SegmentToPlace } from '../../devices/placement.js';
import { PipelinedModelRunner } from '../../pipeline/runner.js';
import { readSegmentFile } from '../../pipeline/segment-source.js';
import { segmentStatsTable } from '../../pipeline/stats-table.js';

/** Distinct random inputs cycled through, so a long run does not allocate one per item. */
const DISTINCT_INPUTS = 8;

const USAGE =
  'coral-pipe run SEGMENT... [--count K] [--devices ID,ID,...] [--replicas N|N1,N2,...] [--json]\n' +
  '  --devices: one per segment: usb:N, pci:N, a stable id as `coral-pipe devices` lists it, or cpu:N;\n' +
  '             ids joined by + are replicas taking items in turn (usb:0,usb:1+usb:2).\n' +
  '             Default: each Edge TPU compiled segment on its own Edge TPU in enumeration order, the\n' +
  '             others on CPU executors. Edge TPUs are leased (in /run/coral-pipe) while the run lasts.\n' +
  '  --replicas: executors per segment, for CPU segments only (not with --devices).';

function positiveInt(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${what} must be a positive integer, got "${text}"`);
  return n;
}

/** `2` gives every segment 2 replicas; `1,2,1` one count per segment. */
export function parseReplicas(text: string, segments: number): number[] {
  const counts = text.split(',').map((part) => positiveInt(part.trim(), '--replicas'));
  if (counts.length === 1) return Array<number>(segments).fill(counts[0]!);
  if (counts.length !== segments) throw new UsageError(`--replicas gives ${counts.length} counts for ${segments} segments`);
  return counts;
}

/** `usb:0,cpu:0`: one device per segment; `usb:1+usb:2`: that segment's replicas, taking items in turn. */
export function parseDevices(text: string, segments: number): (string | string[])[] {
  const entries = text.split(',').map((entry) => entry.split('+').map((id) => id.trim()));
  if (entries.some((ids) => ids.some((id) => id === ''))) throw new UsageError(`--devices has an empty id in "${text}"`);
  if (entries.length !== segments) throw new UsageError(`--devices gives ${entries.length} entries for ${segments} segments: give one per segment`);
  return entries.map((ids) => (ids.length === 1 ? ids[0]! : ids));
}

async function readSegments(files: readonly string[]): Promise<SegmentToPlace[]> {
  return Promise.all(
    files.map(async (file, i) => {
      // The path as source keeps the file name in CPU stats, as the runner names segments given by path.
      return { name: `segment ${i} (${path.basename(file)})`, model: await readSegmentFile(file, i), source: file };
    }),
  );
}

/**
 * Coral's model_pipelining example: one producer pushes K random inputs while one consumer pops, then
 * throughput, latency and per-segment stats are printed.
 */
async function measure(runner: PipelinedModelRunner, count: number, json: boolean): Promise<void> {
  const inputs: TensorData[][] = Array.from({ length: DISTINCT_INPUTS }, () =>
    runner.inputs.map((spec) => {
      const data = allocate(spec.dtype, spec.byteSize / (elementSize(spec.dtype) || 1));
      randomFillSync(bytesOf(data));
      return data;
    }),
  );
  const acceptedAt = new Float64Array(count);
  const start = performance.now();
  const producer = (async () => {
    for (let i = 0; i < count; i++) {
      await runner.push(inputs[i % DISTINCT_INPUTS]!);
      acceptedAt[i] = performance.now();
    }
    await runner.push([]);
  })();
  let popped = 0;
  let latencySum = 0;
  for await (const out of runner) {
    latencySum += performance.now() - acceptedAt[popped++]!;
    runner.release(out);
  }
  await producer;
  const seconds = (performance.now() - start) / 1000;
  const stats = runner.stats();
  const summary = { items: popped, seconds, itemsPerSecond: popped / seconds, meanLatencyMs: latencySum / popped };
  if (json) {
    process.stdout.write(JSON.stringify({ ...summary, stats }, null, 2) + '\n');
    return;
  }
  process.stdout.write(
    `${popped} items in ${seconds.toFixed(2)} s: ${summary.itemsPerSecond.toFixed(1)} items/s, ` +
      `mean latency ${summary.meanLatencyMs.toFixed(2)} ms (p50 ${stats.latencyMsP50.toFixed(2)}, p99 ${stats.latencyMsP99.toFixed(2)})\n\n`,
  );
  process.stdout.write(segmentStatsTable(stats));
}

export interface RunCommandDeps {
  /** The device scan, made only when a segment needs one; `enumerateDevices()` by default (tests inject fake devices). */
  readonly enumerate?: () => Promise<Enumeration>;
  /** Where the Edge TPU lock files go; the daemon's /run/coral-pipe by default, so the two never share a device. */
  readonly leases?: LeaseOptions;
}

export function createRunCommand(deps: RunCommandDeps = {}): Command {
  return {
    name: 'run',
    summary: 'Run segments as a pipeline (Edge TPU compiled ones on Edge TPUs, others on CPU executors) and report throughput, latency and per-segment stats',
    usage: USAGE,
    async run(argv) {
      const { positionals, values } = parseArgs({
        args: argv,
        allowPositionals: true,
        options: {
          count: { type: 'string', default: '100' },
          devices: { type: 'string' },
          replicas: { type: 'string' },
          json: { type: 'boolean', default: false },
        },
      });
      if (positionals.length === 0) throw new UsageError('give at least one segment file');
      const count = positiveInt(values.count, '--count');
      if (values.replicas !== undefined && values.devices !== undefined) {
        throw new UsageError('give --replicas or --devices, not both');
      }
      const replicas = values.replicas === undefined ? undefined : parseReplicas(values.replicas, positionals.length);
      const devices: DevicesSetting = values.devices === undefined ? 'auto' : parseDevices(values.devices, positionals.length);
      const segments = await readSegments(positionals);
      if (replicas) {
        const edgeTpu = executorKinds(segments).indexOf('edgetpu');
        if (edgeTpu >= 0) throw new UsageError(`--replicas is for CPU segments, and ${segments[edgeTpu]!.name} is Edge TPU compiled; give its Edge TPUs with --devices, e.g. usb:0+usb:1`);
      }
      let leases: { release(): void } | undefined;
      try {
        const input = await runnerInput(segments, devices, {
          ...(deps.enumerate && { enumerate: deps.enumerate }),
          claim: (ids) => {
            leases = acquireLeases(ids, deps.leases);
          },
        });
        const runner = await PipelinedModelRunner.create(input.segments, {
          ...(input.devices && { devices: input.devices }),
          ...(replicas && { replicas }),
        });
        try {
          await measure(runner, count, values.json);
        } finally {
          await runner.close();
        }
        return 0;
      } finally {
        leases?.release();
      }
    },
  };
}

export default createRunCommand();
