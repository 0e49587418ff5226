/**
 * The daemon's pure parts, on their own (each is also reached through whole-daemon runs with a broker):
 * the outbox, a camera's frame slot, the rebuild schedule and the reload plan.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FrameSlot } from '../src/daemon/frames/frame-slot.js';
import { Outbox } from '../src/daemon/mqtt/outbox.js';
import { RebuildSchedule } from '../src/daemon/lifecycle/rebuild-schedule.js';
import { rebuildDelay } from '../src/daemon/lifecycle/rebuild-schedule.js';
import { planReload } from '../src/daemon/lifecycle/reload-plan.js';
import { testDaemonConfig } from './helpers/daemon-config.js';

describe('outbox', () => {
  it('keeps the newest messages up to its capacity, oldest out first, and counts what it dropped', () => {
    const box = new Outbox<number>(3);
    for (let i = 1; i <= 5; i++) box.push(i);
    assert.equal(box.size, 3);
    assert.equal(box.dropped, 2);
    assert.deepEqual(box.drain(), [3, 4, 5]);
    assert.equal(box.size, 0);
    const none = new Outbox<number>(0);
    none.push(1);
    assert.deepEqual([none.size, none.dropped], [0, 1]);
  });
});

describe('frame slot', () => {
  it('policy newest: a new frame displaces the waiting one, which is counted', () => {
    const slot = new FrameSlot<string>('newest');
    assert.equal(slot.put('a'), undefined);
    assert.equal(slot.put('b'), 'a');
    assert.equal(slot.take(), 'b');
    assert.equal(slot.occupied, false);
    assert.equal(slot.dropped, 1);
  });

  it('policy oldest: the waiting frame stays and the new one is refused', () => {
    const slot = new FrameSlot<string>('oldest');
    slot.put('a');
    assert.equal(slot.put('b'), 'b');
    assert.equal(slot.take(), 'a');
    assert.equal(slot.take(), undefined);
    assert.equal(slot.dropped, 1);
  });
});

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

describe('reload plan', () => {
  const url = 'mqtt://127.0.0.1:1';
  const config = (yaml: string) => testDaemonConfig(url, yaml);
  const planOf = async (base: string, edited: string) => {
    const current = await config(base);
    // Same node (the helper numbers them), so only what the test edits differs.
    const next = { ...(await config(edited)), node: current.node, mqtt: current.mqtt };
    return planReload(current, next);
  };

  it('finds nothing changed when only comments and line positions moved', async () => {
    const current = await config('cameras: {a: cam/a}\ntopK: 3');
    const moved = { ...(await config('\n# a comment\ncameras: {a: cam/a}\ntopK: 3')), node: current.node, mqtt: current.mqtt };
    assert.deepEqual(planReload(current, moved), { newClassifier: false, newConnection: false, changed: false });
  });

  it('builds a new classifier for top-k and limits, applies cameras in place, and opens a new session for the broker', async () => {
    assert.deepEqual(await planOf('cameras: {a: cam/a}\ntopK: 3', 'cameras: {a: cam/a}\ntopK: 1'), { newClassifier: true, newConnection: false, changed: true });
    assert.deepEqual(await planOf('cameras: {a: cam/a}', 'cameras: {a: cam/a, b: cam/b}'), { newClassifier: false, newConnection: false, changed: true });
    const current = await config('cameras: {a: cam/a}');
    const moved = { ...current, mqtt: { ...current.mqtt, url: 'mqtt://127.0.0.1:2' } };
    assert.deepEqual(planReload(current, moved), { newClassifier: false, newConnection: true, changed: true });
  });

  it('builds a new classifier when a model file was replaced under the same name', async () => {
    const current = await config('cameras: {a: cam/a}');
    const replaced = { ...current, modelStamp: `${current.modelStamp}x` };
    assert.deepEqual(planReload(current, replaced), { newClassifier: true, newConnection: false, changed: true });
  });
});
