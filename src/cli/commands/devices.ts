/**
 * `coral-pipe devices [--json]`: what executors this machine has, their health, who leases them, and
 * the libraries the engines run on (runtime-report.ts).
 */
import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import type { Device } from '../../devices/device.js';
import { enumerateDevices, type Enumeration } from '../../devices/enumerate.js';
import { DEFAULT_RUNTIME_DIR, leaseHolder } from '../../devices/lease.js';
import { formatRuntimeReport, runtimeReport } from '../../devices/runtime-report.js';

export interface DevicesCommandDeps {
  /** The scan; `enumerateDevices()` of this machine by default (tests inject fake ones). */
  readonly enumerate?: () => Promise<Enumeration>;
  readonly write?: (text: string) => void;
}

/** What to do when no Edge TPU shows up: the usual causes, in the order people hit them. */
export const NOTHING_FOUND_HELP = `No Edge TPU found. What to check:
  USB accelerator:
    - \`lsusb\` should list 1a6e:089a (before firmware load) or 18d1:9302 (after); if not, re-plug it,
      preferably into a USB 3 port.
    - udev rules must give both ids to group plugdev (coral-pipe's scripts/install.sh, or Coral's
      libedgetpu1-std package, installs them); then add your user to plugdev and log in again.
  PCIe / M.2 accelerator:
    - the apex (gasket) driver must be loaded: \`lsmod | grep apex\`; install gasket-dkms otherwise.
    - a udev rule SUBSYSTEM=="apex", MODE="0660", GROUP="apex" and your user in group apex.
`;

function describeHealth(d: Device): string {
  const parts: string[] = [];
  if (d.health.temperatureC !== undefined) parts.push(`${d.health.temperatureC.toFixed(1)} °C`);
  if (d.health.status !== undefined) parts.push(d.health.status);
  if (d.health.resetCount !== undefined) parts.push(`${d.health.resetCount} resets`);
  if (d.usb?.speed !== undefined) parts.push(`${d.usb.speed} speed`);
  if (d.pci?.pciAddress !== undefined) parts.push(d.pci.pciAddress);
  return parts.join(', ');
}

export function createDevicesCommand(deps: DevicesCommandDeps = {}): Command {
  return {
    name: 'devices',
    summary: 'List Edge TPUs (USB and PCIe) and CPU executors with their health and leases',
    usage: 'coral-pipe devices [--json] [--runtime-dir DIR]',
    async run(argv) {
      const { values } = parseArgs({
        args: argv,
        options: { json: { type: 'boolean' }, 'runtime-dir': { type: 'string' } },
        strict: true,
        allowPositionals: false,
      });
      const write = deps.write ?? ((text: string) => void process.stdout.write(text));
      const { devices, problems } = await (deps.enumerate ?? (() => enumerateDevices()))();
      const runtimeDir = values['runtime-dir'] ?? DEFAULT_RUNTIME_DIR;
      const rows = devices.map((device) => ({ device, leasedBy: leaseHolder(device.id, { runtimeDir }) }));
      const noEdgeTpu = !devices.some((d) => d.type !== 'cpu');
      const runtimes = runtimeReport(devices);

      if (values.json) {
        const json = {
          devices: rows.map(({ device, leasedBy }) => ({ ...device, ...(leasedBy ? { leasedBy } : {}) })),
          problems,
          runtimes,
          ...(noEdgeTpu ? { help: NOTHING_FOUND_HELP } : {}),
        };
        write(`${JSON.stringify(json, null, 2)}\n`);
        return 0;
      }
      const width = Math.max(2, ...devices.map((d) => d.id.length));
      write(`${'ID'.padEnd(width)}  TYPE  STATE           HEALTH\n`);
      for (const { device: d, leasedBy } of rows) {
        const lease = leasedBy ? ` [leased by pid ${leasedBy.pid}]` : '';
        write(`${d.id.padEnd(width)}  ${d.type.padEnd(4)}  ${d.state.padEnd(14)}  ${describeHealth(d)}${lease}\n`);
        for (const problem of d.health.problems) write(`${' '.repeat(width)}  ! ${problem}\n`);
      }
      for (const problem of problems) write(`warning: ${problem}\n`);
      write(`\n${formatRuntimeReport(runtimes)}`);
      if (noEdgeTpu) write(`\n${NOTHING_FOUND_HELP}`);
      return 0;
    },
  };
}

export default createDevicesCommand();
