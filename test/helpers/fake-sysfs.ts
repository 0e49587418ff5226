/** A fake /sys + /dev tree with apex devices, for the PCIe probe and hot-plug tests. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface FakeApex {
  readonly index: number;
  /** Attribute files to write, e.g. `{temp: '45250', status: 'ALIVE'}`. */
  readonly attributes?: Readonly<Record<string, string>>;
  /** Whether /dev/apex_N exists; true by default. */
  readonly node?: boolean;
}

export function fakeSysfs(): { sysfsRoot: string; devRoot: string; setApex(devices: readonly FakeApex[]): void } {
  const root = mkdtempSync(path.join(os.tmpdir(), 'coral-pipe-sysfs-'));
  const sysfsRoot = path.join(root, 'sys');
  const devRoot = path.join(root, 'dev');
  const setApex = (devices: readonly FakeApex[]) => {
    rmSync(path.join(sysfsRoot, 'class', 'apex'), { recursive: true, force: true });
    rmSync(devRoot, { recursive: true, force: true });
    mkdirSync(devRoot, { recursive: true });
    for (const d of devices) {
      const dir = path.join(sysfsRoot, 'class', 'apex', `apex_${d.index}`);
      mkdirSync(dir, { recursive: true });
      for (const [name, value] of Object.entries(d.attributes ?? {})) writeFileSync(path.join(dir, name), `${value}\n`);
      if (d.node !== false) writeFileSync(path.join(devRoot, `apex_${d.index}`), '');
    }
  };
  return { sysfsRoot, devRoot, setApex };
}
