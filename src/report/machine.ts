/** The machine a report's figures were taken on, as the report prints it. */
import os from 'node:os';

export function machineSummary(): Record<string, string | number> {
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cpus: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    loadavgAtStart: os.loadavg().map((l) => l.toFixed(2)).join(' '),
  };
}
