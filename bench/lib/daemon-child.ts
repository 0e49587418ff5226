/**
 * The real `coral-pipe daemon` command as a child process, the way systemd runs it on an appliance, or
 * the same service with its segments on stand-in accelerators.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StandInPipeline } from './standin-accelerators.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const STAND_IN_DAEMON = fileURLToPath(new URL('./standin-daemon.js', import.meta.url));

export class DaemonChild {
  private output = '';

  private constructor(
    private readonly proc: ChildProcess,
    private readonly dir: string,
    readonly exited: Promise<number | null>,
  ) {
    const keep = (d: Buffer) => (this.output = (this.output + d.toString()).slice(-4000));
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
  }

  get pid(): number {
    return this.proc.pid!;
  }

  /** What it printed last (logs at warn and up), for error messages. */
  get log(): string {
    return this.output.trim();
  }

  /**
   * Writes `configYaml` to a temporary file and starts the daemon on it (its segments on `standIn`
   * when given, else as the config says); does not wait for it to be ready.
   */
  static async spawn(configYaml: string, standIn?: StandInPipeline): Promise<DaemonChild> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'coral-pipe-bench-daemon-'));
    const config = path.join(dir, 'config.yaml');
    await writeFile(config, configYaml);
    let args = [CLI, 'daemon', '--config', config];
    if (standIn) {
      const pipeline = path.join(dir, 'stand-in.json');
      await writeFile(pipeline, JSON.stringify(standIn));
      args = [STAND_IN_DAEMON, config, pipeline];
    }
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    return new DaemonChild(proc, dir, exited);
  }

  /** Resolves with `ready`, or rejects if the daemon exits first. */
  async whileRunning<T>(ready: Promise<T>): Promise<T> {
    const died = this.exited.then((code) => {
      throw new Error(`daemon exited with ${code} before it was ready: ${this.log}`);
    });
    return Promise.race([ready, died]);
  }

  /** SIGTERM, then SIGKILL if it has not stopped after `graceMs`; resolves with how it ended, e.g. `code 0`. */
  async stop(graceMs = 15_000): Promise<string> {
    let killed = false;
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill('SIGTERM');
      const timer = setTimeout(() => {
        killed = true;
        this.proc.kill('SIGKILL');
      }, graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    await rm(this.dir, { recursive: true, force: true });
    if (killed) return `killed: no exit within ${graceMs} ms of SIGTERM`;
    return this.proc.exitCode !== null ? `code ${this.proc.exitCode}` : `signal ${this.proc.signalCode}`;
  }
}
