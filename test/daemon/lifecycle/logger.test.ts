import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger } from '../../../src/daemon/lifecycle/logger.js';
import { EXIT_CONFIG } from '../../../src/daemon/lifecycle/service.js';
import { isJournalStream } from '../../../src/systemd/journal.js';
import { cliPath } from '../../helpers/cli.js';

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

  it('carry their journald priority as a <N> prefix when they go to the journal, the JSON whole after it', () => {
    const out = capture();
    const log = createLogger({ level: 'trace', journal: true, destination: out.destination });
    log.fatal('f');
    log.error('e');
    log.warn({ event: 'bad-frame' }, 'w');
    log.info('i');
    log.debug('d');
    log.trace('t');
    const lines = out.text().trim().split('\n');
    assert.deepEqual(lines.map((l) => /^<(\d)>/.exec(l)?.[1]), ['2', '3', '4', '6', '7', '7']);
    const warn = JSON.parse(lines[2]!.slice(3)) as Record<string, unknown>;
    assert.equal(warn.event, 'bad-frame');
    assert.equal(warn.level, 40);
  });
});

describe('the journal stream', () => {
  it('is recognised by the device and inode in $JOURNAL_STREAM, and only then', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'coral-pipe-journal-'));
    try {
      const file = path.join(dir, 'stream');
      await writeFile(file, '');
      const st = await stat(file, { bigint: true });
      const fd = openSync(file, 'a');
      try {
        assert.equal(isJournalStream(fd, { JOURNAL_STREAM: `${st.dev}:${st.ino}` }), true);
        assert.equal(isJournalStream(fd, { JOURNAL_STREAM: `${st.dev}:${st.ino + 1n}` }), false);
        assert.equal(isJournalStream(fd, {}), false);
        assert.equal(isJournalStream(fd, { JOURNAL_STREAM: 'garbage' }), false);
      } finally {
        closeSync(fd);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('gets a config error at start at error priority, and the daemon exits with EX_CONFIG (78)', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'coral-pipe-journal-'));
    try {
      const config = path.join(dir, 'bad.yaml');
      await writeFile(config, 'model: m.tflite\ncameras: {a: x}\ntopK: 0\n');
      const journal = path.join(dir, 'journal');
      await writeFile(journal, '');
      const st = await stat(journal, { bigint: true });
      // As systemd connects a service: stdout and stderr both the one stream $JOURNAL_STREAM names.
      const fd = openSync(journal, 'a');
      const child = spawn(process.execPath, [cliPath, 'daemon', '--config', config], {
        stdio: ['ignore', fd, fd],
        env: { ...process.env, JOURNAL_STREAM: `${st.dev}:${st.ino}` },
      });
      closeSync(fd);
      const code = await new Promise((resolve) => child.once('exit', resolve));
      assert.equal(code, EXIT_CONFIG);
      const text = await readFile(journal, 'utf8');
      assert.match(text, /^<3>.*bad\.yaml:3:\d+: topK: must be at least 1/m, text);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
