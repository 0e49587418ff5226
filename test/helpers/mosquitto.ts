/**
 * A real Debian mosquitto for tests: on a free localhost port, with a generated config, no persistence.
 * `stop()` and `start()` again on the same port let tests take the broker away mid-stream. Optionally
 * with password authentication and TLS (a throw-away CA and server certificate made with openssl).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';

const CANDIDATES = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto'];

export function mosquittoPath(): string {
  const found = CANDIDATES.find((p) => existsSync(p));
  if (!found) throw new Error(`mosquitto not found (looked at ${CANDIDATES.join(', ')}); install it: apt-get install -y mosquitto`);
  return found;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitForPort(port: number, proc: ChildProcess, log: () => string): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (proc.exitCode !== null) throw new Error(`mosquitto exited with ${proc.exitCode}: ${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`mosquitto did not listen on ${port}: ${log()}`);
}

export interface MosquittoOptions {
  /** user -> password; anonymous clients are then refused. */
  readonly users?: Readonly<Record<string, string>>;
  /** Listen with TLS only; clients trust `caFile`. */
  readonly tls?: boolean;
}

const run = promisify(execFile);

/** A CA and a server certificate for 127.0.0.1 (EC keys: quick to make). */
async function makeCertificates(dir: string): Promise<void> {
  const p = (f: string) => path.join(dir, f);
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=coral-pipe test CA', '-keyout', p('ca.key'), '-out', p('ca.pem')]);
  await run('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', p('server.key'), '-out', p('server.csr')]);
  await writeFile(p('san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  await run('openssl', ['x509', '-req', '-in', p('server.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', p('san.ext'), '-out', p('server.pem')]);
}

export class Mosquitto {
  private proc: ChildProcess | undefined;
  private output = '';

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly options: MosquittoOptions,
  ) {}

  get url(): string {
    return `${this.options.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${this.port}`;
  }

  /** The CA certificate (PEM file) that signs the broker's certificate, with `tls`. */
  get caFile(): string {
    return path.join(this.dir, 'ca.pem');
  }

  static async start(options: MosquittoOptions = {}): Promise<Mosquitto> {
    const dir = await mkdtemp(path.join(tmpdir(), 'coral-pipe-mosquitto-'));
    const broker = new Mosquitto(await freePort(), dir, options);
    if (options.users) {
      const file = path.join(dir, 'passwords');
      await writeFile(file, '');
      for (const [user, password] of Object.entries(options.users)) await run('mosquitto_passwd', ['-b', file, user, password]);
    }
    if (options.tls) await makeCertificates(dir);
    // Started as root, mosquitto drops to its own user before reading these: let it read them.
    await chmod(dir, 0o755);
    for (const f of await readdir(dir)) await chmod(path.join(dir, f), 0o644);
    await broker.start();
    return broker;
  }

  /** (Re)starts the broker on its port. */
  async start(): Promise<void> {
    const conf = path.join(this.dir, 'mosquitto.conf');
    const p = (f: string) => path.join(this.dir, f);
    await writeFile(
      conf,
      [
        `listener ${this.port} 127.0.0.1`,
        ...(this.options.users ? ['allow_anonymous false', `password_file ${p('passwords')}`] : ['allow_anonymous true']),
        ...(this.options.tls ? [`cafile ${p('ca.pem')}`, `certfile ${p('server.pem')}`, `keyfile ${p('server.key')}`] : []),
        'persistence false',
        'log_dest stderr',
        'log_type error',
        'log_type warning',
        '',
      ].join('\n'),
    );
    this.output = '';
    const proc = spawn(mosquittoPath(), ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    this.proc = proc;
    await waitForPort(this.port, proc, () => this.output);
  }

  /** Stops the broker (SIGTERM) and waits for it to exit. */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGTERM');
    await exited;
    this.proc = undefined;
  }

  async close(): Promise<void> {
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}

export interface BrokerAndScratch {
  readonly broker: Mosquitto;
  /** A fresh folder for the suite's configs and models. */
  readonly dir: string;
}

/**
 * Registers hooks on the enclosing suite: a mosquitto and a scratch folder before its tests, both gone
 * after. The fields are filled once the suite's `before` hooks have run.
 */
export function brokerAndScratchDir(prefix: string): BrokerAndScratch {
  const fixture = {} as { broker: Mosquitto; dir: string };
  before(async () => {
    fixture.broker = await Mosquitto.start();
    fixture.dir = await mkdtemp(path.join(tmpdir(), prefix));
  });
  after(async () => {
    await fixture.broker?.close();
    if (fixture.dir) await rm(fixture.dir, { recursive: true, force: true });
  });
  return fixture;
}
