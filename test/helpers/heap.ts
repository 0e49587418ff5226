/** Memory readings for leak checks: heap after a full garbage collection, and the resident set. */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
// A fresh context sees `gc` once the flag is set, without starting node with --expose-gc.
const gc = runInNewContext('gc') as () => void;

export interface MemoryReading {
  readonly heapUsedMiB: number;
  readonly rssMiB: number;
}

const mib = (bytes: number) => Number((bytes / 1024 / 1024).toFixed(1));

/** Collects garbage (twice: the first pass finalises, the second frees what finalisers let go), then reads. */
export function memoryAfterGc(): MemoryReading {
  gc();
  gc();
  const m = process.memoryUsage();
  return { heapUsedMiB: mib(m.heapUsed), rssMiB: mib(m.rss) };
}
