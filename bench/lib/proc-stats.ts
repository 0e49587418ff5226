/** RSS and CPU time of another process from /proc (Linux), for measuring a daemon from outside. */
import { readFileSync, readdirSync } from 'node:fs';

/** Clock ticks per second of /proc's utime and stime: 100 on every Linux this runs on. */
const TICKS = 100;

function statFields(pid: number): string[] {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces: [0] is field 3 (state).
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** Resident set size in bytes; undefined once the process is gone. */
export function rssBytes(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** User + system CPU seconds used so far (all threads). */
export function cpuSeconds(pid: number): number {
  const fields = statFields(pid);
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

/** Pids of this process's children whose command name is `comm`, e.g. the mosquitto a helper started. */
export function childPids(comm: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const name = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'));
      if (name === comm && Number(statFields(Number(entry))[1]) === process.pid) found.push(Number(entry));
    } catch {
      // gone between readdir and read
    }
  }
  return found;
}

/** CPU seconds every process on the machine has used since boot (user, nice, system, irq, softirq, steal). */
export function machineBusySeconds(): number {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = fields.map(Number);
  return (user! + nice! + system! + irq! + softirq! + (steal ?? 0)) / TICKS;
}

/** CPU seconds of this process and of its children that have ended (daemons, brokers, camera fleets). */
export function ownCpuSeconds(): number {
  const f = statFields(process.pid);
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / TICKS;
}
