/** A camera's waiting frame (frames/frame-slot.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FrameSlot } from '../../../src/daemon/frames/frame-slot.js';

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
