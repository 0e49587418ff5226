/** The cameras of the running config (frames/cameras.ts): slots, topics, turns, expiry, reloads. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cameras, FrameSlot, type QueuedFrame } from '../../../src/daemon/frames/cameras.js';
import { testDaemonConfig } from '../../helpers/daemon-config.js';

const config = (yaml: string) => testDaemonConfig('mqtt://127.0.0.1:1', yaml);

let sequence = 0;
function frame(camera: string, expiresAt?: number): QueuedFrame {
  return { camera, image: Buffer.from([0xff, 0xd8, 0xff]), sequence: ++sequence, timestamp: Date.now(), receivedAt: performance.now(), ...(expiresAt !== undefined && { expiresAt }) };
}

describe('frame slot', () => {
  it('policy newest: a new frame displaces the waiting one, which is counted', () => {
    const slot = new FrameSlot<number>('newest');
    assert.equal(slot.put(1), undefined);
    assert.equal(slot.put(2), 1);
    assert.equal(slot.put(3), 2);
    assert.deepEqual([slot.take(), slot.take(), slot.dropped], [3, undefined, 2]);
  });

  it('policy oldest: the waiting frame stays and the new one is refused', () => {
    const slot = new FrameSlot<number>('oldest');
    slot.put(1);
    assert.equal(slot.put(2), 2);
    assert.deepEqual([slot.take(), slot.take(), slot.dropped], [1, undefined, 1]);
  });
});

describe('cameras', () => {
  it('finds each camera by any of its topics, with its own drop policy or the default', async () => {
    const cameras = new Cameras();
    cameras.set(await config('cameras:\n  a: cam/a\n  b: {topics: [cam/b1, cam/b2], dropPolicy: oldest}'));
    assert.equal(cameras.size, 2);
    assert.equal(cameras.ofTopic('cam/a')?.id, 'a');
    assert.equal(cameras.ofTopic('cam/b2')?.id, 'b');
    assert.equal(cameras.ofTopic('cam/c'), undefined);
    const b = cameras.get('b')!;
    b.slot.put(frame('b'));
    const second = frame('b');
    assert.equal(b.slot.put(second), second, 'b keeps its oldest frame');
  });

  it('takes frames camera by camera, so a busy camera cannot starve the others', async () => {
    const cameras = new Cameras();
    cameras.set(await config('cameras: {a: cam/a, b: cam/b, c: cam/c}'));
    const order: string[] = [];
    // a always has a frame waiting; b and c one each.
    const refill = () => cameras.get('a')!.slot.put(frame('a'));
    refill();
    cameras.get('b')!.slot.put(frame('b'));
    cameras.get('c')!.slot.put(frame('c'));
    for (let next = cameras.next(); next; next = cameras.next()) {
      order.push(next[0].id);
      if (order.length < 5) refill();
    }
    assert.deepEqual(order, ['a', 'b', 'c', 'a', 'a']);
  });

  it('skips and counts frames whose MQTT message expired while they waited', async () => {
    const cameras = new Cameras();
    cameras.set(await config('cameras: {a: cam/a, b: cam/b}'));
    const a = cameras.get('a')!;
    a.slot.put(frame('a', performance.now() - 1));
    const fresh = frame('b', performance.now() + 60_000);
    cameras.get('b')!.slot.put(fresh);
    assert.deepEqual(cameras.next(), [cameras.get('b'), fresh]);
    assert.equal(cameras.next(), undefined);
    assert.equal(a.totals.expired, 1);
  });

  it('keeps the slot and counters of a camera a reload leaves unchanged, and renews a changed one', async () => {
    const cameras = new Cameras();
    const first = await config('cameras: {a: cam/a, b: cam/b}');
    cameras.set(first);
    const [a, b] = [cameras.get('a')!, cameras.get('b')!];
    a.totals.received = 3;
    const waiting = frame('a');
    a.slot.put(waiting);
    const next = { ...first, cameras: { a: first.cameras.a!, b: { ...first.cameras.b!, topics: ['cam/b-new'] } } };
    cameras.set(next);
    assert.equal(cameras.get('a'), a);
    assert.equal(cameras.get('a')!.slot.take(), waiting);
    assert.equal(cameras.get('a')!.totals.received, 3);
    assert.notEqual(cameras.get('b'), b);
    assert.equal(cameras.ofTopic('cam/b'), undefined);
    assert.equal(cameras.ofTopic('cam/b-new')?.id, 'b');
  });
});
