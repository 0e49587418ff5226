/**
 * A mosquitto that speaks only TLS and requires a client certificate (`require_certificate true`),
 * with a throw-away CA, server certificate and client certificate made by openssl.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { freePort, mosquittoPath } from './mosquitto.js';

const run = promisify(execFile);

/** `<name>.key` (P-256) and `<name>.pem`, a certificate for `cn` with `extensions`, signed by the CA in `dir`. */
async function certificate(dir: string, name: string, cn: string, extensions: string): Promise<void> {
  const p = (f: string) => path.join(dir, f);
  await run('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${cn}`, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`)]);
  await writeFile(p(`${name}.ext`), `${extensions}\n`);
  await run('openssl', ['x509', '-req', '-in', p(`${name}.csr`), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', p(`${name}.ext`), '-out', p(`${name}.pem`)]);
}

export class MutualTlsBroker {
  private output = '';

  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly proc: ChildProcess,
  ) {
    proc.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
  }

  get url(): string {
    return `mqtts://127.0.0.1:${this.port}`;
  }

  /** PEM files: the CA that signs both sides, and the client's certificate and key. */
  get files(): { ca: string; cert: string; key: string } {
    return { ca: path.join(this.dir, 'ca.pem'), cert: path.join(this.dir, 'client.pem'), key: path.join(this.dir, 'client.key') };
  }

  /** What mosquitto logged (errors, warnings and notices). */
  get log(): string {
    return this.output;
  }

  static async start(): Promise<MutualTlsBroker> {
    const dir = await mkdtemp(path.join(tmpdir(), 'coral-pipe-mtls-'));
    const p = (f: string) => path.join(dir, f);
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=coral-pipe test CA', '-keyout', p('ca.key'), '-out', p('ca.pem')]);
    await certificate(dir, 'server', '127.0.0.1', 'subjectAltName=IP:127.0.0.1');
    await certificate(dir, 'client', 'coral-pipe-appliance', 'extendedKeyUsage=clientAuth');
    const port = await freePort();
    await writeFile(
      p('mosquitto.conf'),
      [
        `listener ${port} 127.0.0.1`,
        'allow_anonymous true',
        `cafile ${p('ca.pem')}`,
        `certfile ${p('server.pem')}`,
        `keyfile ${p('server.key')}`,
        'require_certificate true',
        'persistence false',
        'log_dest stderr',
        'log_type error',
        'log_type warning',
        'log_type notice',
        '',
      ].join('\n'),
    );
    // Started as root, mosquitto drops to its own user before reading these: let it read them.
    await chmod(dir, 0o755);
    for (const f of await readdir(dir)) await chmod(p(f), 0o644);
    const proc = spawn(mosquittoPath(), ['-c', p('mosquitto.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    const broker = new MutualTlsBroker(port, dir, proc);
    await broker.waitForHandshake();
    return broker;
  }

  /** Waits until a TLS handshake with the client certificate succeeds. */
  private async waitForHandshake(): Promise<void> {
    const [ca, cert, key] = await Promise.all([this.files.ca, this.files.cert, this.files.key].map((f) => readFile(f)));
    for (let attempt = 0; attempt < 200; attempt++) {
      if (this.proc.exitCode !== null) throw new Error(`mosquitto exited with ${this.proc.exitCode}: ${this.output}`);
      const ok = await new Promise<boolean>((resolve) => {
        const socket = tls.connect({ host: '127.0.0.1', port: this.port, ca, cert, key }, () => (socket.destroy(), resolve(true)));
        socket.once('error', () => resolve(false));
      });
      if (ok) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`mosquitto did not take TLS connections on ${this.port}: ${this.output}`);
  }

  async close(): Promise<void> {
    if (this.proc.exitCode === null) {
      const exited = new Promise((resolve) => this.proc.once('exit', resolve));
      this.proc.kill('SIGTERM');
      await exited;
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
