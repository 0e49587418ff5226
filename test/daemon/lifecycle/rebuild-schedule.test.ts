/** When a failed pipeline is rebuilt (lifecycle/rebuild-schedule.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rebuildDelay, RebuildSchedule } from '../../../src/daemon/lifecycle/rebuild-schedule.js';

describe('rebuild schedule', () => {
  const policy = { minDelayMs: 1000, maxDelayMs: 4000, fastAttempts: 4, slowDelayMs: 60_000 };

  it('spaces attempts 1, 2, 4, 4 s, then every minute, and says when it cannot serve', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 9].map((a) => rebuildDelay(policy, a)), [1000, 2000, 4000, 4000, 60_000, 60_000]);
    const schedule = new RebuildSchedule(policy);
    const outcomes = [1, 2, 3, 4].map(() => schedule.failed(schedule.begin(), 'no device'));
    assert.deepEqual(outcomes.map((o) => o.retryInMs), [2000, 4000, 4000, 60_000]);
    assert.deepEqual(outcomes.map((o) => o.lastFast), [false, false, false, true]);
    assert.equal(schedule.cannotServe, true);
    assert.equal(schedule.lastError, 'no device');
    schedule.reset();
    assert.deepEqual([schedule.attempts, schedule.lastError, schedule.cannotServe], [0, undefined, false]);
  });

  it('runs one attempt at a time, after the delay due, and a cancelled one not at all', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const schedule = new RebuildSchedule(policy);
    let runs = 0;
    schedule.schedule(() => runs++);
    schedule.schedule(() => runs++);
    t.mock.timers.tick(999);
    assert.equal(runs, 0);
    t.mock.timers.tick(1);
    assert.equal(runs, 1, 'one run for two requests');
    schedule.failed(schedule.begin(), 'x');
    schedule.schedule(() => runs++);
    schedule.cancel();
    t.mock.timers.tick(60_000);
    assert.equal(runs, 1);
  });
});
