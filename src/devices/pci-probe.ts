/**
 * Finds PCIe/M.2 Edge TPUs through the apex driver's sysfs class (`/sys/class/apex/apex_N`) and their
 * `/dev/apex_N` nodes. Roots are injectable; here only fake sysfs trees have exercised it.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Device } from './device.js';

export interface PciProbeOptions {
  /** Where sysfs is mounted; `/sys` by default. */
  readonly sysfsRoot?: string;
  /** Where device nodes live; `/dev` by default. */
  readonly devRoot?: string;
}

/** A sysfs attribute's text, trimmed; undefined when the driver does not expose it. */
async function attribute(dir: string, name: string): Promise<string | undefined> {
  try {
    return (await readFile(path.join(dir, name), 'utf8')).trim();
  } catch {
    return undefined;
  }
}

function numberOrUndefined(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

function apexIndex(name: string): number {
  return Number(/^apex_(\d+)$/.exec(name)?.[1] ?? Number.NaN);
}

/** Every apex device, in index order; problems are reported on the device, never hidden. */
export async function probePci(options: PciProbeOptions = {}): Promise<Device[]> {
  const sysfsRoot = options.sysfsRoot ?? '/sys';
  const devRoot = options.devRoot ?? '/dev';
  const classDir = path.join(sysfsRoot, 'class', 'apex');
  let names: string[];
  try {
    names = (await readdir(classDir)).filter((n) => /^apex_\d+$/.test(n));
  } catch {
    return []; // no apex driver loaded: no PCIe Edge TPUs (the CLI explains what to install)
  }
  names.sort((a, b) => apexIndex(a) - apexIndex(b));
  return Promise.all(
    names.map(async (name): Promise<Device> => {
      const dir = path.join(classDir, name);
      const node = path.join(devRoot, name);
      const [temp, status, resetCount, pciAddress, driverVersion] = await Promise.all(
        ['temp', 'status', 'reset_count', 'pci_address', 'driver_version'].map((a) => attribute(dir, a)),
      );
      const nodePresent = existsSync(node);
      const problems: string[] = [];
      if (!nodePresent) problems.push(`${node} is missing: the apex driver made no device node (check udev rules)`);
      if (status !== undefined && status !== 'ALIVE') problems.push(`driver status is ${status}, not ALIVE`);
      const milliC = numberOrUndefined(temp);
      const resets = numberOrUndefined(resetCount);
      return {
        id: `pci:${node}`,
        type: 'pci',
        selector: node,
        state: problems.length === 0 ? 'ready' : 'unhealthy',
        health: {
          ...(milliC !== undefined ? { temperatureC: milliC / 1000 } : {}),
          ...(status !== undefined ? { status } : {}),
          ...(resets !== undefined ? { resetCount: resets } : {}),
          problems,
        },
        pci: {
          name,
          sysfsPath: dir,
          node,
          nodePresent,
          ...(pciAddress ? { pciAddress } : {}),
          ...(driverVersion ? { driverVersion } : {}),
        },
      };
    }),
  );
}
