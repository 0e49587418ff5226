/** What a reload changes (lifecycle/reload-plan.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planReload } from '../../../src/daemon/lifecycle/reload-plan.js';
import { testDaemonConfig } from '../../helpers/daemon-config.js';

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
