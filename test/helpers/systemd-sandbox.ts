/**
 * A real systemd as PID 1 of private namespaces (../shared/tools/systemd-sandbox): booted once for a
 * test file, commands run inside it with nsenter, powered off afterwards. Its root is a throw-away
 * overlay of this machine's root file system, and its network is this machine's, so a broker on
 * 127.0.0.1 is reachable. Files on other mounts (a checkout on its own volume) are not in it: copyIn().
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import path from 'node:path';
import { projectRoot, runProcess, type CliResult } from './cli.js';

/** Where the sandbox's scripts are: $SYSTEMD_SANDBOX, or ../shared/tools/systemd-sandbox beside the checkout. */
export function sandboxTools(): string {
  return process.env.SYSTEMD_SANDBOX ?? path.resolve(projectRoot, '../shared/tools/systemd-sandbox');
}

/** Why this machine cannot boot the sandbox, or undefined when it can. */
export function cannotBoot(): string | undefined {
  if (!existsSync(path.join(sandboxTools(), 'up.sh'))) return `no systemd sandbox at ${sandboxTools()}`;
  if (process.getuid?.() !== 0) return 'the systemd sandbox needs root';
  if (!existsSync('/lib/systemd/systemd')) return 'systemd is not installed (Debian package systemd)';
  return undefined;
}

export class SystemdSandbox {
  private constructor(
    readonly pid: number,
    /** Its scratch folder when this process booted it; undefined for one booted by the caller. */
    private readonly workdir: string | undefined,
  ) {}

  /**
   * Boots it (1-20 s) and waits until systemd says it is running; or, when $SYSTEMD_SANDBOX_PID names
   * one already booted (scripts/ci-systemd.sh boots it first, to tell a machine that cannot boot it from
   * a failing test), uses that one and leaves its shutdown to whoever booted it.
   */
  static async boot(): Promise<SystemdSandbox> {
    const booted = Number(process.env.SYSTEMD_SANDBOX_PID);
    if (Number.isInteger(booted) && booted > 0) return new SystemdSandbox(booted, undefined);
    // Outside /tmp, as its README advises: the sandbox mounts a private /tmp of its own.
    const workdir = await mkdtemp('/var/tmp/coral-pipe-sds-');
    const up = await runProcess(path.join(sandboxTools(), 'up.sh'), [workdir]);
    const pid = Number(up.stdout.trim().split('\n').pop());
    if (up.code !== 0 || !Number.isInteger(pid)) throw new Error(`the systemd sandbox did not boot (exit ${up.code}): ${up.stderr}`);
    return new SystemdSandbox(pid, workdir);
  }

  private nsenter(command: string, env: Readonly<Record<string, string>> = {}): string[] {
    const assignments = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    return ['-t', String(this.pid), '-a', 'env', ...assignments, 'bash', '-c', command];
  }

  /** Runs `command` (a bash script) inside, as root in /root; a non-zero exit is a result. */
  sh(command: string, env: Readonly<Record<string, string>> = {}): Promise<CliResult> {
    return runProcess('nsenter', this.nsenter(`cd /root && ${command}`, env), { maxBuffer: 64 * 1024 * 1024 });
  }

  /** Copies a file of this machine to `dest` inside (its folder made as needed). */
  async copyIn(file: string, dest: string): Promise<void> {
    const source = await open(file, 'r');
    try {
      const child = spawn('nsenter', this.nsenter(`mkdir -p "$(dirname '${dest}')" && cat > '${dest}'`), { stdio: [source.fd, 'ignore', 'inherit'] });
      const code = await new Promise((resolve) => child.once('exit', resolve));
      if (code !== 0) throw new Error(`copying ${file} into the systemd sandbox as ${dest} failed (exit ${code})`);
    } finally {
      await source.close();
    }
  }

  /** Like sh(), but fails naming the command and its output when it exits non-zero. */
  async ok(command: string, env: Readonly<Record<string, string>> = {}): Promise<string> {
    const r = await this.sh(command, env);
    if (r.code !== 0) throw new Error(`\`${command}\` exited ${r.code} in the systemd sandbox:\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  }

  /** `systemctl show` properties of a unit, by name. */
  async show(unit: string, ...properties: string[]): Promise<Record<string, string>> {
    const out = await this.ok(`systemctl show ${unit} ${properties.map((p) => `-p ${p}`).join(' ')}`);
    return Object.fromEntries(out.trim().split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
  }

  /** Powers it off and removes its scratch folder, if this process booted it. */
  async shutdown(): Promise<void> {
    if (this.workdir === undefined) return;
    await runProcess(path.join(sandboxTools(), 'down.sh'), [String(this.pid), this.workdir]);
    await rm(this.workdir, { recursive: true, force: true });
  }
}
