import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadFrameError, parseFrame } from '../../../src/daemon/frames/frame-intake.js';
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
