import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { EXIT_CONFIG } from '../../src/daemon/lifecycle/service.js';
import { UNIT_HIDDEN_DIRS } from '../../src/daemon/config/unit-sandbox.js';
import { DEFAULT_RUNTIME_DIR } from '../../src/devices/lease.js';
import { projectRoot } from '../helpers/cli.js';

const run = promisify(execFile);
const root = projectRoot;
const unitPath = path.join(root, 'systemd/coral-pipe.service');

/** `Key=value` settings of a unit or the key=="value" pairs of a udev rule line, in order. */
function unitSettings(text: string): [string, string][] {
  return text
    .split('\n')
    .filter((l) => /^[A-Za-z]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]);
}

/** Mendel Linux's (Debian 10's) systemd. */
const MENDEL_SYSTEMD = 241;

/**
 * The systemd version that introduced each setting the unit may use, from systemd's NEWS (and, where
 * NEWS is silent, the release that first parsed it). RemoveIPC= was announced in 232 but read from unit
 * files only from 236.
 */
const SYSTEMD_VERSION: Readonly<Record<string, number>> = {
  Description: 1, Documentation: 183, Wants: 1, After: 1, StartLimitIntervalSec: 230, StartLimitBurst: 42,
  Type: 1, NotifyAccess: 1, WatchdogSec: 41, TimeoutStartSec: 188, ExecStart: 1, ExecReload: 1,
  Restart: 12, RestartPreventExitStatus: 189, RestartSec: 1, LimitNOFILE: 1,
  User: 1, Group: 1, SupplementaryGroups: 1, UMask: 1,
  StateDirectory: 235, RuntimeDirectory: 211, RuntimeDirectoryPreserve: 235, ConfigurationDirectory: 235,
  DevicePolicy: 205, DeviceAllow: 210, CapabilityBoundingSet: 21, AmbientCapabilities: 229, NoNewPrivileges: 187,
  ProtectSystem: 232, ProtectHome: 214, PrivateTmp: 1, ProtectKernelTunables: 232, ProtectKernelModules: 232,
  ProtectKernelLogs: 244, ProtectControlGroups: 232, ProtectClock: 245, ProtectHostname: 242, ProtectProc: 247,
  ProcSubset: 247, RestrictAddressFamilies: 211, RestrictNamespaces: 233, RestrictRealtime: 231,
  RestrictSUIDSGID: 242, LockPersonality: 235, RemoveIPC: 236, SystemCallArchitectures: 209,
  SystemCallFilter: 232, SystemCallErrorNumber: 209, MemoryDenyWriteExecute: 231, PrivateDevices: 209,
  PrivateUsers: 232, IPAddressDeny: 235, WantedBy: 1,
};

describe('systemd unit', () => {
  it('rates at most 1.7 in systemd-analyze security --offline=yes (1.5 online, in the systemd job)', async () => {
    const { stdout } = await run('systemd-analyze', ['security', '--offline=yes', '--no-pager', unitPath]).catch((err: Error) => {
      throw new Error(`systemd-analyze is needed for this test (Debian package systemd): ${err.message}`);
    });
    const score = Number(/Overall exposure level for coral-pipe\.service: ([\d.]+)/.exec(stdout)?.[1]);
    assert.ok(Number.isFinite(score), `no score in: ${stdout.slice(-300)}`);
    console.log(`systemd-analyze security exposure: ${score}`);
    assert.ok(score <= 1.7, `exposure ${score} > 1.7`);
  });

  it('is Type=notify with a watchdog, restarts on failure but not on a config error, reloads through coral-pipe reload, runs as coral-pipe with plugdev and apex', async () => {
    const settings = new Map(unitSettings(await readFile(unitPath, 'utf8')));
    assert.equal(settings.get('Type'), 'notify');
    assert.ok(Number(settings.get('WatchdogSec')) > 0);
    assert.equal(settings.get('Restart'), 'on-failure');
    assert.equal(settings.get('RestartPreventExitStatus'), String(EXIT_CONFIG));
    // A check there could not stop the restart loop: RestartPreventExitStatus= sees the main process only.
    assert.equal(settings.has('ExecStartPre'), false);
    assert.match(settings.get('ExecStart') ?? '', /^\/usr\/bin\/coral-pipe daemon --config \/etc\/coral-pipe\/coral-pipe\.yaml$/);
    assert.equal(settings.get('ExecReload'), '/usr/bin/coral-pipe reload');
    assert.equal(settings.get('User'), 'coral-pipe');
    assert.deepEqual(settings.get('SupplementaryGroups')?.split(' ').sort(), ['apex', 'plugdev']);
  });

  it('hides from the service the folders check-config warns about, and no others', async () => {
    const settings = new Map(unitSettings(await readFile(unitPath, 'utf8')));
    const expected = [
      ...(settings.get('PrivateTmp') === 'yes' ? ['/tmp', '/var/tmp'] : []),
      ...(settings.get('ProtectHome') === 'yes' ? ['/home', '/root', '/run/user'] : []),
    ];
    assert.deepEqual(Object.keys(UNIT_HIDDEN_DIRS).sort(), expected.sort());
  });

  it('uses only settings systemd 241 (Mendel Linux) knows, but for those its comment names as ignored there', async () => {
    const text = await readFile(unitPath, 'utf8');
    const used = [...new Set(unitSettings(text).map(([key]) => key))];
    const unknown = used.filter((key) => !(key in SYSTEMD_VERSION));
    assert.deepEqual(unknown, [], 'look up the systemd version that introduced each (NEWS) and add it to SYSTEMD_VERSION');
    const newer = used.filter((key) => SYSTEMD_VERSION[key]! > MENDEL_SYSTEMD).sort();
    const comment = text.split('\n').filter((l) => l.startsWith('#')).map((l) => l.replace(/^#\s*/, '')).join(' ');
    const named = /settings newer than it: (.*?)Every other line/.exec(comment)?.[1] ?? '';
    assert.deepEqual([...named.matchAll(/(\w+)=/g)].map((m) => m[1]).sort(), newer);
    // The one value newer than the setting itself: @system-service came in 239.
    assert.match(text, /^SystemCallFilter=@system-service$/m);
  });

  it('gives the daemon the runtime directory its device leases live in (ProtectSystem=strict makes /run read-only)', async () => {
    const settings = new Map(unitSettings(await readFile(unitPath, 'utf8')));
    assert.equal(settings.get('ProtectSystem'), 'strict');
    assert.equal(`/run/${settings.get('RuntimeDirectory')}`, DEFAULT_RUNTIME_DIR);
  });
});

describe('udev rules', () => {
  it('give plugdev both USB ids of the accelerator and apex the PCIe devices', async () => {
    const rules = (await readFile(path.join(root, 'systemd/60-coral-pipe.rules'), 'utf8'))
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('#'))
      .map((l) => Object.fromEntries([...l.matchAll(/([A-Z]+(?:\{\w+\})?)\s*(==|=|\+=)\s*"([^"]*)"/g)].map((m) => [`${m[1]}${m[2]}`, m[3]])));
    const group = (vendor: string, product: string) =>
      rules.find((r) => r['ATTR{idVendor}=='] === vendor && r['ATTR{idProduct}=='] === product)?.['GROUP='];
    assert.equal(group('1a6e', '089a'), 'plugdev');
    assert.equal(group('18d1', '9302'), 'plugdev');
    assert.equal(rules.find((r) => r['SUBSYSTEM=='] === 'apex')?.['GROUP='], 'apex');
  });
});

describe('scripts/install.sh', () => {
  it('installs unit, rules, schema and config, and a second run changes nothing and keeps an edited config', async () => {
    const dest = await mkdtemp(path.join(tmpdir(), 'coral-pipe-install-'));
    try {
      const env = { ...process.env, DESTDIR: dest };
      const script = path.join(root, 'scripts/install.sh');
      await run('bash', [script], { env });
      const files = ['etc/systemd/system/coral-pipe.service', 'etc/udev/rules.d/60-coral-pipe.rules', 'etc/coral-pipe/coral-pipe.schema.json', 'etc/coral-pipe/coral-pipe.yaml'];
      for (const f of files) assert.deepEqual(await readFile(path.join(dest, f)), await readFile(path.join(root, f.replace(/^etc\/(systemd\/system|udev\/rules\.d)/, 'systemd').replace(/^etc\/coral-pipe/, 'config'))), f);
      assert.equal((await stat(path.join(dest, 'etc/coral-pipe/coral-pipe.yaml'))).mode & 0o777, 0o640);
      const config = path.join(dest, 'etc/coral-pipe/coral-pipe.yaml');
      await writeFile(config, 'edited by the user\n');
      const second = await run('bash', [script], { env });
      assert.doesNotMatch(second.stdout, /installed/);
      assert.match(second.stdout, /kept existing/);
      assert.equal(await readFile(config, 'utf8'), 'edited by the user\n');
    } finally {
      await rm(dest, { recursive: true, force: true });
    }
  });
});
