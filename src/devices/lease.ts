/**
 * Exclusive device leases across processes (the "central resource manager" the Coral docs ask for):
 * one lock file per device in a runtime directory, created with O_EXCL and holding the holder's pid
 * and process start time. A lock whose holder is dead (or whose pid now belongs to another process)
 * is reclaimed; a live holder makes the device busy, and the error names it.
 */
import { linkSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync, closeSync } from 'node:fs';
import path from 'node:path';

export const DEFAULT_RUNTIME_DIR = '/run/coral-pipe';

export interface LeaseHolder {
  readonly pid: number;
  /** Start time of the holder process (clock ticks since boot, from /proc/<pid>/stat), to detect pid reuse. */
  readonly startTime?: number;
  readonly deviceId: string;
  /** ISO time the lease was taken. */
  readonly since: string;
}

export class DeviceBusyError extends Error {
  constructor(readonly deviceId: string, readonly holder: LeaseHolder, readonly lockFile: string) {
    super(`device ${deviceId} is leased by pid ${holder.pid} since ${holder.since} (lock ${lockFile})`);
    this.name = 'DeviceBusyError';
  }
}

export class LeaseError extends Error {
  constructor(message: string, readonly deviceId: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LeaseError';
  }
}

export interface Lease {
  readonly deviceId: string;
  readonly lockFile: string;
  /** Removes the lock if it is still ours; safe to call twice. */
  release(): void;
}

export interface LeaseOptions {
  /** Where lock files live; `/run/coral-pipe` by default. */
  readonly runtimeDir?: string;
}

/** The lock file for a device: its id with everything but [A-Za-z0-9.-] turned into `_`. */
export function lockFileFor(deviceId: string, runtimeDir = DEFAULT_RUNTIME_DIR): string {
  return path.join(runtimeDir, `${deviceId.replace(/[^A-Za-z0-9.-]/g, '_')}.lock`);
}

/** Field 22 of /proc/<pid>/stat; undefined where /proc is not there. */
function processStartTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its closing ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[19]);
  } catch {
    return undefined;
  }
}

function isAlive(holder: LeaseHolder): boolean {
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    // EPERM: the process exists but belongs to another user, so it is alive.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (holder.startTime === undefined) return true;
  const now = processStartTime(holder.pid);
  return now === undefined || now === holder.startTime;
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function parseHolder(text: string | undefined): LeaseHolder | undefined {
  try {
    const parsed = JSON.parse(text ?? '') as Partial<LeaseHolder>;
    return typeof parsed.pid === 'number' ? (parsed as LeaseHolder) : undefined;
  } catch {
    return undefined; // half-written by a holder that died while writing: stale
  }
}

function tryCreate(file: string, holder: LeaseHolder): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, JSON.stringify(holder));
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Moves a stale lock aside so exactly one claimant wins: rename is atomic, and if what we moved turns
 * out not to be the stale lock we saw (someone reclaimed it meanwhile), it is put back with link,
 * which refuses to overwrite.
 */
function reclaimStale(file: string, stale: string): void {
  const aside = `${file}.stale.${process.pid}`;
  try {
    renameSync(file, aside);
  } catch {
    return; // already gone: someone else reclaimed it
  }
  if (readText(aside) !== stale) {
    try {
      linkSync(aside, file);
    } catch {
      // A third claimant already holds the name; the lock we moved belongs to a loser of that race.
    }
  }
  try {
    unlinkSync(aside);
  } catch {
    // removed already
  }
}

/** Takes the exclusive lease on `deviceId`, or throws DeviceBusyError naming the live holder. */
export function acquireLease(deviceId: string, options: LeaseOptions = {}): Lease {
  const runtimeDir = options.runtimeDir ?? DEFAULT_RUNTIME_DIR;
  const file = lockFileFor(deviceId, runtimeDir);
  try {
    mkdirSync(runtimeDir, { recursive: true });
  } catch (err) {
    throw new LeaseError(`cannot create the runtime directory ${runtimeDir} for device leases: ${(err as Error).message}`, deviceId, { cause: err });
  }
  const startTime = processStartTime(process.pid);
  const me: LeaseHolder = {
    pid: process.pid,
    ...(startTime !== undefined ? { startTime } : {}),
    deviceId,
    since: new Date().toISOString(),
  };
  // Each round either takes the lock, finds a live holder, or removes a dead one; bounded in case of churn.
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      if (tryCreate(file, me)) return makeLease(deviceId, file, JSON.stringify(me));
    } catch (err) {
      throw new LeaseError(`cannot write the lock file ${file}: ${(err as Error).message}`, deviceId, { cause: err });
    }
    const text = readText(file);
    if (text === undefined) continue; // released meanwhile: try again
    const holder = parseHolder(text);
    if (holder && isAlive(holder)) throw new DeviceBusyError(deviceId, holder, file);
    reclaimStale(file, text);
  }
  throw new LeaseError(`could not take the lock ${file}: it kept changing hands`, deviceId);
}

function makeLease(deviceId: string, lockFile: string, content: string): Lease {
  let released = false;
  return {
    deviceId,
    lockFile,
    release() {
      if (released) return;
      released = true;
      try {
        // Only remove our own lock: after a reclaim by mistake it may be someone else's now.
        if (readText(lockFile) === content) unlinkSync(lockFile);
      } catch {
        // already gone
      }
    },
  };
}

/** Who holds `deviceId` now, if a live process does. */
export function leaseHolder(deviceId: string, options: LeaseOptions = {}): LeaseHolder | undefined {
  const holder = parseHolder(readText(lockFileFor(deviceId, options.runtimeDir ?? DEFAULT_RUNTIME_DIR)));
  return holder && isAlive(holder) ? holder : undefined;
}

/** Leases on every one of `deviceIds`, or none: if one is busy, those already taken are released. */
export function acquireLeases(deviceIds: readonly string[], options: LeaseOptions = {}): { readonly leases: Lease[]; release(): void } {
  const leases: Lease[] = [];
  try {
    for (const id of new Set(deviceIds)) leases.push(acquireLease(id, options));
  } catch (err) {
    for (const lease of leases) lease.release();
    throw err;
  }
  return { leases, release: () => leases.forEach((l) => l.release()) };
}
