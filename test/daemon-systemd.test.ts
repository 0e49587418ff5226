import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { DEFAULT_RUNTIME_DIR } from '../src/devices/lease.js';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const unitPath = path.join(root, 'systemd/coral-pipe.service');

/** `Key=value` settings of a unit or the key=="value" pairs of a udev rule line, in order. */
function unitSettings(text: string): [string, string][] {
  return text
    .split('\n')
    .filter((l) => /^[A-Za-z]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]);
}

describe('systemd unit', () => {
  it('rates at most 2.5 in systemd-analyze security --offline=yes', async () => {
    const { stdout } = await run('systemd-analyze', ['security', '--offline=yes', '--no-pager', unitPath]).catch((err: Error) => {
      throw new Error(`systemd-analyze is needed for this test (Debian package systemd): ${err.message}`);
    });
    const score = Number(/Overall exposure level for coral-pipe\.service: ([\d.]+)/.exec(stdout)?.[1]);
    assert.ok(Number.isFinite(score), `no score in: ${stdout.slice(-300)}`);
    console.log(`systemd-analyze security exposure: ${score}`);
    assert.ok(score <= 2.5, `exposure ${score} > 2.5`);
  });

  it('is Type=notify with a watchdog, restarts on failure, checks the config first, runs as coral-pipe with plugdev and apex', async () => {
    const settings = new Map(unitSettings(await readFile(unitPath, 'utf8')));
    assert.equal(settings.get('Type'), 'notify');
    assert.ok(Number(settings.get('WatchdogSec')) > 0);
    assert.equal(settings.get('Restart'), 'on-failure');
    assert.match(settings.get('ExecStartPre') ?? '', /^\/usr\/bin\/coral-pipe check-config \/etc\/coral-pipe\/coral-pipe\.yaml$/);
    assert.match(settings.get('ExecStart') ?? '', /^\/usr\/bin\/coral-pipe daemon --config \/etc\/coral-pipe\/coral-pipe\.yaml$/);
    assert.equal(settings.get('User'), 'coral-pipe');
    assert.deepEqual(settings.get('SupplementaryGroups')?.split(' ').sort(), ['apex', 'plugdev']);
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
