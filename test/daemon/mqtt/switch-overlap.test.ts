/** The frames two MQTT sessions both receive during a reload's switch are taken once (switch-overlap.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SwitchOverlap } from '../../../src/daemon/mqtt/switch-overlap.js';

const frame = (topic: string, bytes: number[]) => ({ topic, payload: Buffer.from(bytes), properties: {} });

describe('switch overlap', () => {
  const [oldSession, newSession] = [{}, {}];

  it('skips on the new session each frame the old one took during the switch, once', () => {
    const overlap = new SwitchOverlap();
    overlap.begin();
    assert.equal(overlap.takenElsewhere(oldSession, frame('cam/a', [1]), 0), false);
    assert.equal(overlap.takenElsewhere(oldSession, frame('cam/a', [2]), 1), false);
    overlap.end(2);
    assert.equal(overlap.takenElsewhere(newSession, frame('cam/a', [1]), 3), true, 'frame 1 again, late on the new session');
    assert.equal(overlap.takenElsewhere(newSession, frame('cam/a', [2]), 4), true, 'frame 2 again');
    assert.equal(overlap.takenElsewhere(newSession, frame('cam/a', [3]), 5), false, 'frame 3 is new');
    assert.equal(overlap.takenElsewhere(newSession, frame('cam/a', [1]), 6), false, 'the same bytes sent again later are a new frame');
  });

  it('tells frames apart by topic and content, and never skips a repeat on the same session', () => {
    const overlap = new SwitchOverlap();
    overlap.begin();
    assert.equal(overlap.takenElsewhere(oldSession, frame('cam/a', [7]), 0), false);
    assert.equal(overlap.takenElsewhere(oldSession, frame('cam/a', [7]), 1), false, 'the same session twice: two frames');
    assert.equal(overlap.takenElsewhere(newSession, frame('cam/b', [7]), 2), false, 'another camera');
  });

  it('remembers nothing outside a switch, and forgets a few seconds after one', () => {
    const overlap = new SwitchOverlap();
    assert.equal(overlap.takenElsewhere(oldSession, frame('cam/a', [1]), 0), false);
    assert.equal(overlap.takenElsewhere(newSession, frame('cam/a', [1]), 1), false, 'no switch on');
    overlap.begin();
    overlap.takenElsewhere(oldSession, frame('cam/a', [2]), 2);
    overlap.end(3);
    assert.equal(overlap.takenElsewhere(newSession, frame('cam/a', [2]), 3 + 60_000), false, 'a minute later');
  });
});
