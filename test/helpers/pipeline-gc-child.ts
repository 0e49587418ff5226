/**
 * Run with --expose-gc: leaves a runner with unconsumed outputs unreferenced ("drop") or held
 * ("keep"), collects garbage, and prints how many executor workers are still alive.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { PipelinedModelRunner } from '../../src/pipeline/runner.js';
import { liveExecutorWorkers } from '../../src/pipeline/worker-executor.js';
import { passThroughChain } from './pipeline-specs.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

const held: PipelinedModelRunner[] = [];
async function startRunner(keep: boolean): Promise<void> {
  const runner = await PipelinedModelRunner.create(passThroughChain(3, 1024));
  for (let i = 0; i < 5; i++) await runner.push([new Uint8Array(1024)]);
  await runner.pop();
  if (keep) held.push(runner);
}

const keep = process.argv[2] === 'keep';
await startRunner(keep);
const started = liveExecutorWorkers();
// Dropped: collect until the threads have exited, for at most 30 s (a loaded machine); kept: 10 rounds show none end.
const deadline = performance.now() + 30_000;
for (let i = 0; (keep ? i < 10 : performance.now() < deadline) && liveExecutorWorkers() > 0; i++) {
  gc();
  await sleep(20);
}
process.stdout.write(JSON.stringify({ started, left: liveExecutorWorkers() }) + '\n');
for (const runner of held) await runner.close();
