/** A lease on a device held by another process (as a running daemon would hold it), until killed. */
import { spawn, type ChildProcess } from 'node:child_process';
import { builtModule } from './cli.js';
import { pathToFileURL } from 'node:url';

/** Starts a process that takes the lease on `deviceId` in `runtimeDir`; resolves once it holds it. */
export async function holdLeaseInChild(deviceId: string, runtimeDir: string): Promise<ChildProcess> {
  const lease = pathToFileURL(builtModule('devices/lease.js')).href;
  const script = `import { acquireLease } from ${JSON.stringify(lease)}; acquireLease(${JSON.stringify(deviceId)}, { runtimeDir: ${JSON.stringify(runtimeDir)} }); console.log('held'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`lease holder exited with ${code}`)));
  });
  return child;
}

export async function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}
