// Device leases across processes, in a temporary runtime directory.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { acquireLease, acquireLeases, DeviceBusyError, leaseHolder, lockFileFor } from '../../src/devices/lease.js';
import { builtModule } from '../helpers/cli.js';

const ID = 'usb:/sys/bus/usb/devices/2-1';
const leaseModule = builtModule('devices/lease.js');
const runtimeDir = () => mkdtempSync(path.join(os.tmpdir(), 'coral-pipe-run-'));

test('a lease is exclusive, records the holder, and is released', () => {
  const dir = runtimeDir();
  const lease = acquireLease(ID, { runtimeDir: dir });
  assert.equal(lease.lockFile, path.join(dir, 'usb__sys_bus_usb_devices_2-1.lock'));
  assert.equal(lockFileFor(ID, dir), lease.lockFile);
  assert.equal(JSON.parse(readFileSync(lease.lockFile, 'utf8')).pid, process.pid);
  assert.equal(leaseHolder(ID, { runtimeDir: dir })?.pid, process.pid);
  assert.throws(() => acquireLease(ID, { runtimeDir: dir }), (e: unknown) =>
    e instanceof DeviceBusyError && e.holder.pid === process.pid && e.message.includes(`leased by pid ${process.pid}`));
  // Another device is independent.
  acquireLease('pci:/dev/apex_0', { runtimeDir: dir }).release();
  lease.release();
  lease.release();
  assert.equal(existsSync(lease.lockFile), false);
  assert.equal(leaseHolder(ID, { runtimeDir: dir }), undefined);
  acquireLease(ID, { runtimeDir: dir }).release();
});

test('a lease held by a dead process, or by a pid now reused, is reclaimed', () => {
  const dir = runtimeDir();
  const dead = spawnSync(process.execPath, ['-e', '']).pid!;
  writeFileSync(lockFileFor(ID, dir), JSON.stringify({ pid: dead, deviceId: ID, since: '2026-01-01T00:00:00Z' }));
  const lease = acquireLease(ID, { runtimeDir: dir });
  assert.equal(JSON.parse(readFileSync(lease.lockFile, 'utf8')).pid, process.pid);
  lease.release();
  // Same pid as a live process, but another start time: the holder died and its pid was reused.
  writeFileSync(lockFileFor(ID, dir), JSON.stringify({ pid: process.pid, startTime: 1, deviceId: ID, since: '2026-01-01T00:00:00Z' }));
  acquireLease(ID, { runtimeDir: dir }).release();
  // A half-written lock (holder died while writing) is stale too.
  writeFileSync(lockFileFor(ID, dir), '{"pid":');
  acquireLease(ID, { runtimeDir: dir }).release();
});

test('another live process holding the device makes it busy, naming that process; its exit frees it', async () => {
  const dir = runtimeDir();
  const child = spawn(process.execPath, ['--input-type=module', '-e',
    `import { acquireLease } from ${JSON.stringify(leaseModule)};
     acquireLease(${JSON.stringify(ID)}, { runtimeDir: ${JSON.stringify(dir)} });
     console.log('held');
     process.stdin.resume();`]);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  assert.equal((await lines.next()).value, 'held');
  assert.throws(() => acquireLease(ID, { runtimeDir: dir }), (e: unknown) => e instanceof DeviceBusyError && e.holder.pid === child.pid);
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGKILL'); // dies without releasing: the lock file stays behind
  await exited;
  assert.ok(existsSync(lockFileFor(ID, dir)));
  const lease = acquireLease(ID, { runtimeDir: dir });
  assert.equal(JSON.parse(readFileSync(lease.lockFile, 'utf8')).pid, process.pid);
  lease.release();
});

test('an unusable runtime directory is a clear error', () => {
  const file = path.join(runtimeDir(), 'not-a-dir');
  writeFileSync(file, '');
  assert.throws(() => acquireLease(ID, { runtimeDir: file }), /cannot create the runtime directory .*not-a-dir for device leases/);
});

test('leasing a set of devices is all or nothing', () => {
  const dir = runtimeDir();
  const busy = acquireLease('pci:/dev/apex_1', { runtimeDir: dir });
  assert.throws(() => acquireLeases(['pci:/dev/apex_0', 'pci:/dev/apex_1'], { runtimeDir: dir }), DeviceBusyError);
  assert.equal(leaseHolder('pci:/dev/apex_0', { runtimeDir: dir }), undefined, 'the first lease was given back');
  busy.release();
  const set = acquireLeases(['pci:/dev/apex_0', 'pci:/dev/apex_1', 'pci:/dev/apex_0'], { runtimeDir: dir });
  assert.equal(set.leases.length, 2);
  set.release();
  assert.equal(leaseHolder('pci:/dev/apex_1', { runtimeDir: dir }), undefined);
});
