/**
 * journald's stream protocol, for a service whose stdout and stderr it reads: a line that starts with
 * `<N>` is stored at syslog priority N with the prefix taken off (SyslogLevelPrefix=, on by default,
 * and understood since long before systemd 241). Without it every line is priority 6, and warnings are
 * invisible to `journalctl -p warning`.
 *
 * systemd names the stream it connected in $JOURNAL_STREAM as `device:inode`; comparing that with the
 * descriptor tells a service run by systemd from the same process whose output was redirected to a
 * file or pipe (where a prefix would only be noise).
 */
import { fstatSync } from 'node:fs';

/** syslog priorities (sd-daemon.h's SD_ERR...). */
export const JOURNAL_PRIORITY = { crit: 2, err: 3, warning: 4, info: 6, debug: 7 } as const;

/** Whether descriptor `fd` is the journal stream that $JOURNAL_STREAM names. */
export function isJournalStream(fd: number, env: NodeJS.ProcessEnv = process.env): boolean {
  const match = /^(\d+):(\d+)$/.exec(env.JOURNAL_STREAM ?? '');
  if (!match) return false;
  try {
    const st = fstatSync(fd, { bigint: true });
    return st.dev === BigInt(match[1]!) && st.ino === BigInt(match[2]!);
  } catch {
    return false;
  }
}

/** `<N>`, the prefix that stores a line at priority N. */
export function priorityPrefix(priority: number): string {
  return `<${priority}>`;
}
