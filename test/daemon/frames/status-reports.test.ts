/** What the daemon says about itself (frames/status-reports.ts): the garbage-collection counts in stats. */
import assert from 'node:assert/strict';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { setImmediate as turn } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { GcPauses, gcKind } from '../../../src/daemon/frames/status-reports.js';

/** Resolves at the first scavenge V8 reports from now on. */
function nextScavenge(): Promise<void> {
  return new Promise((resolve) => {
    const observer = new PerformanceObserver((list) => {
      if (!list.getEntries().some((e) => gcKind(e) === constants.NODE_PERFORMANCE_GC_MINOR)) return;
      observer.disconnect();
      resolve();
    });
    observer.observe({ entryTypes: ['gc'] });
  });
}

/** Makes short-lived objects until V8 has scavenged; observers made before this one have the entry by then. */
async function churnUntilScavenge(): Promise<void> {
  let seen = false;
  void nextScavenge().then(() => (seen = true));
  const sink: unknown[] = [];
  while (!seen) {
    for (let i = 0; i < 10_000; i++) sink[i % 64] = { i, text: `frame ${i}` };
    await turn();
  }
}

describe('GcPauses', () => {
  it('counts the scavenges and pause time since the last take, then starts again from zero', async (t) => {
    const pauses = new GcPauses();
    t.after(() => pauses.close());
    await churnUntilScavenge();
    await turn();
    const taken = pauses.take();
    assert.ok(taken.minor >= 1, JSON.stringify(taken));
    assert.ok(taken.ms > 0, JSON.stringify(taken));
    assert.deepEqual(pauses.take(), { major: 0, minor: 0, ms: 0 });
  });

  it('counts nothing once closed', async () => {
    const pauses = new GcPauses();
    pauses.close();
    await churnUntilScavenge();
    await turn();
    assert.deepEqual(pauses.take(), { major: 0, minor: 0, ms: 0 });
  });
});
