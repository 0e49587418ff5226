/**
 * A runner that is never closed, with one item in it and nothing else keeping the process alive: the
 * process must live until the item comes out, then end by itself (an idle runner holds nothing).
 */
import { PipelinedModelRunner } from '../../src/pipeline/runner.js';
import { passThroughChain } from './pipeline-specs.js';

// Each stage's invoke waits in its worker thread, which alone would not keep the process alive.
const runner = await PipelinedModelRunner.create(passThroughChain(3, 64, { delayMs: 100 }));
void runner
  .push([new Uint8Array(64).fill(42)])
  .then(() => runner.pop())
  .then((out) => {
    process.stdout.write(`popped ${(out!.t3 as Uint8Array)[0]}\n`);
    runner.release(out!);
  });
