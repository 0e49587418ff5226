/** Frames in (frames/frame-intake.ts): messages parsed into frames, and the cameras' slots, topics, turns, expiry, reloads. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadFrameError, Camera, Cameras, FrameSlot, arrived, parseFrame, queuedFrame, type ArrivedFrame } from '../../../src/daemon/frames/frame-intake.js';
import { testDaemonConfig } from '../../helpers/daemon-config.js';
import type { IncomingMessage } from '../../../src/daemon/mqtt/mqtt-session.js';

const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2]);
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0]);
const limits = { maxPayloadBytes: 100 };
const msg = (payload: Buffer | string, properties: IncomingMessage['properties'] = {}): IncomingMessage => ({ topic: 't', payload: Buffer.from(payload), properties });

function reason(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    assert.ok(err instanceof BadFrameError);
    assert.equal(err.camera, 'cam');
    return err.reason;
  }
  assert.fail('accepted');
}

describe('frame intake', () => {
  it('takes raw JPEG and PNG bytes with v5 user properties, expiry, response topic and correlation data', () => {
    const f = parseFrame('cam', msg(JPEG, {
      userProperties: { sequence: '12', timestamp: '2024-05-01T10:00:00Z' },
      messageExpiryInterval: 2,
      responseTopic: 'r',
      correlationData: Buffer.from('c'),
    }), limits, 1000);
    assert.deepEqual(f.image, JPEG);
    assert.equal(f.sequence, 12);
    assert.equal(f.timestamp, Date.parse('2024-05-01T10:00:00Z'));
    assert.equal(f.expiresAt, 3000);
    assert.equal(f.responseTopic, 'r');
    assert.deepEqual(f.correlationData, Buffer.from('c'));
    assert.deepEqual(parseFrame('cam', msg(PNG), limits).image, PNG);
    assert.equal(parseFrame('cam', msg(PNG), limits).sequence, undefined);
  });

  it('takes JSON with a base64 image, told apart by content type or by its first byte', () => {
    const body = JSON.stringify({ image: JPEG.toString('base64'), sequence: 4, timestamp: 1700000000000 });
    for (const properties of [{}, { contentType: 'application/json' }]) {
      const f = parseFrame('cam', msg(body, properties), limits);
      assert.deepEqual(f.image, JPEG);
      assert.equal(f.sequence, 4);
      assert.equal(f.timestamp, 1700000000000);
    }
  });

  it('refuses what is not a frame, saying why', () => {
    assert.match(reason(() => parseFrame('cam', msg(Buffer.alloc(0)), limits)), /payload is empty/);
    assert.match(reason(() => parseFrame('cam', msg(Buffer.alloc(101, 0xff)), limits)), /101 bytes is over limits\.maxPayloadBytes \(100\)/);
    assert.match(reason(() => parseFrame('cam', msg('GIF89a....'), limits)), /not a JPEG or PNG image \(starts with 47 49 46 38\)/);
    assert.match(reason(() => parseFrame('cam', msg('{"image": "////"}'), limits)), /base64 "image" is not a JPEG or PNG/);
    assert.match(reason(() => parseFrame('cam', msg('{"picture": 1}'), limits)), /no "image" field/);
    assert.match(reason(() => parseFrame('cam', msg(JPEG, { contentType: 'application/json' }), limits)), /JSON payload does not parse/);
    assert.match(reason(() => parseFrame('cam', msg(JPEG, { userProperties: { sequence: '-1' } }), limits)), /sequence "-1" is not a non-negative integer/);
    assert.match(reason(() => parseFrame('cam', msg(JPEG, { userProperties: { timestamp: 'yesterday' } }), limits)), /timestamp "yesterday"/);
  });

  it('says a JSON image is invalid base64, naming the first bad character, rather than "not a JPEG"', () => {
    const b64 = JPEG.toString('base64');
    assert.match(reason(() => parseFrame('cam', msg(JSON.stringify({ image: `${b64.slice(0, 4)}ž${b64.slice(4)}` })), limits)), /"image" is not valid base64: "ž" \(U\+017E\) at character 5/);
    assert.match(reason(() => parseFrame('cam', msg(JSON.stringify({ image: `${b64}A` })), limits)), /not valid base64: \d+ characters cannot be whole bytes/);
    // Line breaks (MIME), the URL-safe alphabet, missing padding and a data: URL prefix are all fine.
    const urlSafe = PNG.toString('base64url');
    for (const image of [`${b64.slice(0, 4)}\n${b64.slice(4)}`, urlSafe, `data:image/jpeg;base64,${b64}`])
      assert.ok(parseFrame('cam', msg(JSON.stringify({ image })), limits).image.length > 0, image);
  });

  it('keeps the sequence the sender gave on a refused frame', () => {
    const refused = (f: () => unknown) => assert.throws(f, (err: unknown) => err instanceof BadFrameError && err.sequence === 9);
    refused(() => parseFrame('cam', msg(JSON.stringify({ image: '@@@@', sequence: 9 })), limits));
    refused(() => parseFrame('cam', msg(JSON.stringify({ sequence: 9 })), limits));
    refused(() => parseFrame('cam', msg('not an image', { userProperties: { sequence: '9' } }), limits));
    assert.throws(() => parseFrame('cam', msg('not an image'), limits), (err: unknown) => err instanceof BadFrameError && err.sequence === undefined);
  });
});

const config = (yaml: string) => testDaemonConfig('mqtt://127.0.0.1:1', yaml);

function frame(camera: string, expiresAt?: number): ArrivedFrame {
  return { message: { ...msg(JPEG), topic: `cam/${camera}` }, receivedAt: performance.now(), ...(expiresAt !== undefined && { expiresAt }) };
}

describe('frames waiting unparsed', () => {
  const camera = () => new Camera('cam', { topics: ['t'] } as Camera['config'], 'newest');

  it('numbers a raw frame without a sequence on arrival, and reads its expiry, without parsing it', () => {
    const cam = camera();
    const now = performance.now();
    // Not an image at all: nothing on arrival looks at the payload beyond telling JSON from the rest.
    const garbage = arrived(cam, msg('GIF89a', { messageExpiryInterval: 2 }), now);
    assert.deepEqual({ ...garbage, message: undefined }, { message: undefined, receivedAt: now, expiresAt: now + 2000, cameraSequence: 1 });
    assert.equal(arrived(cam, msg(JPEG), now).cameraSequence, 2);
    assert.equal(arrived(cam, msg(JPEG, { userProperties: { sequence: '40' } }), now).cameraSequence, undefined, 'numbered by its sender');
    assert.equal(arrived(cam, msg(JSON.stringify({ image: '' })), now).cameraSequence, undefined, 'JSON: its body may number it');
    assert.equal(cam.nextSequence, 3);
  });

  it("parses a frame leaving the slot: its own sequence, else its arrival number, else (JSON) the camera's next", () => {
    const cam = camera();
    const now = performance.now();
    const own = arrived(cam, msg(JPEG, { userProperties: { sequence: '40' } }), now);
    const raw = arrived(cam, msg(JPEG), now);
    const jsonOwn = arrived(cam, msg(JSON.stringify({ image: JPEG.toString('base64'), sequence: 9 })), now);
    const json = arrived(cam, msg(JSON.stringify({ image: JPEG.toString('base64') })), now);
    assert.deepEqual([own, raw, jsonOwn, json].map((f) => queuedFrame(cam, f, limits).sequence), [40, 1, 9, 2]);
    const parsed = queuedFrame(cam, raw, limits);
    assert.deepEqual([parsed.image, parsed.receivedAt, parsed.camera], [JPEG, now, 'cam']);
    assert.throws(() => queuedFrame(cam, arrived(cam, msg('GIF89a'), now), limits), /not a JPEG or PNG image/);
  });
});

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

  it("sets each camera's answer topics, and moves them, those of cameras left or renewed too, when a reload moves the topics", async () => {
    const cameras = new Cameras();
    const first = await config('cameras: {a: cam/a, b: cam/b}');
    cameras.set(first);
    const base = `${first.mqtt.topicPrefix}/${first.node}`;
    const [a, b] = [cameras.get('a')!, cameras.get('b')!];
    assert.deepEqual(a.topics, { result: `${base}/camera/a/result`, error: `${base}/camera/a/error` });
    // b changes and a goes: frames of both may still be in the pipeline, and are answered on the new topics.
    const next = { ...first, node: 'elsewhere', cameras: { b: { ...first.cameras.b!, topics: ['cam/b-new'] } } };
    cameras.set(next);
    const moved = `${first.mqtt.topicPrefix}/elsewhere`;
    assert.deepEqual([a.topics.result, b.topics.error, cameras.get('b')!.topics.result], [`${moved}/camera/a/result`, `${moved}/camera/b/error`, `${moved}/camera/b/result`]);
  });
});
