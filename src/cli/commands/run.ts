import { randomFillSync } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import type { TensorData } from '../../devices/engine.js';
import { allocate, bytesOf, elementSize } from '../../devices/dtype.js';
import { PipelinedModelRunner } from '../../pipeline/runner.js';
import { segmentStatsTable } from '../../pipeline/stats-table.js';

/** Distinct random inputs cycled through, so a long run does not allocate one per item. */
const DISTINCT_INPUTS = 8;

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

/**
 * Coral's model_pipelining example: one producer pushes K random inputs while one consumer pops, then
 * throughput, latency and per-segment stats are printed.
 */
const run: Command = {
  name: 'run',
  summary: 'Run segments as a pipeline on CPU executors and report throughput, latency and per-segment stats',
  usage: 'coral-pipe run SEGMENT... [--count K] [--replicas N|N1,N2,...] [--json]',
  async run(argv) {
    const { positionals, values } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        count: { type: 'string', default: '100' },
        replicas: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    });
    if (positionals.length === 0) throw new UsageError('give at least one segment file');
    const count = positiveInt(values.count, '--count');
    const replicas = values.replicas === undefined ? undefined : parseReplicas(values.replicas, positionals.length);
    const runner = await PipelinedModelRunner.create(positionals, replicas ? { replicas } : {});
    try {
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
      if (values.json) {
        process.stdout.write(JSON.stringify({ ...summary, stats }, null, 2) + '\n');
      } else {
        process.stdout.write(
          `${popped} items in ${seconds.toFixed(2)} s: ${summary.itemsPerSecond.toFixed(1)} items/s, ` +
            `mean latency ${summary.meanLatencyMs.toFixed(2)} ms (p50 ${stats.latencyMsP50.toFixed(2)}, p99 ${stats.latencyMsP99.toFixed(2)})\n\n`,
        );
        process.stdout.write(segmentStatsTable(stats));
      }
      return 0;
    } finally {
      await runner.close();
    }
  },
};
export default run;
