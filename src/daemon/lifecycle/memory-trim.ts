/**
 * Gives the native memory that threads freed back to the system, every so often: glibc keeps it in
 * its per-thread arenas, so a long-running daemon's RSS creeps up although nothing leaks (the why is in
 * native/src/memory.cc). Without the native addon, RSS creeps; the log says so once.
 */
import type { Logger } from 'pino';
import { loadNativeAddon } from '../../native/addon.js';

interface MemoryAddon {
  trim(): boolean;
}

/** Every 30 s: the creep is about a MiB a minute, and a trim costs a few milliseconds. */
const TRIM_EVERY_MS = 30_000;

/** Loads the addon's trim(); undefined (and why) when it is not built. */
export function nativeTrim(): { trim?: () => boolean; problem?: string } {
  try {
    return { trim: loadNativeAddon<MemoryAddon>('coral_memory').trim };
  } catch (err) {
    return { problem: (err as Error).message };
  }
}

/** Starts trimming; the timer does not keep the process alive. */
export function startMemoryTrim(log: Logger, everyMs = TRIM_EVERY_MS): { stop(): void } {
  const { trim, problem } = nativeTrim();
  if (!trim) {
    log.warn({ event: 'memory-trim', err: problem }, `native memory is not trimmed, RSS will creep up: ${problem}`);
    return { stop: () => {} };
  }
  const timer = setInterval(trim, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
