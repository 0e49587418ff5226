import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger } from '../src/daemon/logger.js';

/** A real stream (pino-pretty pipes into one) that keeps what is written. */
function capture(): { destination: Writable; text(): string } {
  let text = '';
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { destination, text: () => text };
}

describe('daemon logs', () => {
  it('are JSON lines with the fields journald users filter on, without pid and hostname', () => {
    const out = capture();
    const log = createLogger({ level: 'info', destination: out.destination });
    log.info({ event: 'bad-frame', camera: 'front', segment: 'segment 1', device: 'usb:/sys/bus/usb/devices/2-1' }, 'frame refused');
    log.debug({ event: 'hidden' }, 'below the level');
    const lines = out.text().trim().split('\n');
    assert.equal(lines.length, 1);
    const entry = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(entry.event, 'bad-frame');
    assert.equal(entry.camera, 'front');
    assert.equal(entry.device, 'usb:/sys/bus/usb/devices/2-1');
    assert.equal(entry.msg, 'frame refused');
    assert.equal(entry.level, 30);
    assert.equal('pid' in entry || 'hostname' in entry, false);
  });

  it('print for humans with --pretty', () => {
    const out = capture();
    const log = createLogger({ level: 'info', pretty: true, destination: out.destination });
    log.warn({ event: 'bad-frame', camera: 'front' }, 'frame refused');
    const text = out.text();
    assert.throws(() => JSON.parse(text));
    assert.match(text, /WARN.*frame refused/);
    assert.match(text, /camera: "front"/);
  });
});
