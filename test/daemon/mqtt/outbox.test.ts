/** The outbox of results waiting for the broker (mqtt/outbox.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Outbox } from '../../../src/daemon/mqtt/outbox.js';

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
