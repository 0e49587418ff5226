/**
 * The unit under a real systemd (Debian's 252, booted in private namespaces by
 * ../shared/tools/systemd-sandbox), installed by scripts/install.sh as a user would: READY and STATUS,
 * a frame through a local mosquitto, reloads that wait and fail, the watchdog, a clean stop, a config
 * error at start, paths the unit hides, journal priorities and the online exposure score.
 *
 * Not part of `npm test`: it needs root and takes about a minute. scripts/ci-systemd.sh runs it in
 * CI. The tests run in order, on one installed unit. What it cannot show: Edge TPUs (the machine has
 * none, so `devices: auto` builds CPU segments) and systemd 241 itself (Mendel Linux's).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { topicsFor } from '../../src/daemon/mqtt/topics.js';
import { testDataPath } from '../../src/testdata.js';
import { projectRoot, runProcess } from '../helpers/cli.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { Observer, type Seen } from '../helpers/mqtt-observer.js';
import { cannotBoot, SystemdSandbox } from '../helpers/systemd-sandbox.js';

const UNIT = 'coral-pipe';
/** Where the packed package is carried into the sandbox. */
const PACKAGE = '/root/coral-pipe.tgz';
const NODE = 'sandbox';
const topics = topicsFor('coral-pipe', NODE);
const cameraTopic = 'cameras/front/snapshot';
const json = (s: Seen) => JSON.parse(s.payload.toString()) as Record<string, any>;

/** Polls `check` (an async look at the sandbox) every 200 ms until it holds; fails naming `what`. */
async function eventually(check: () => Promise<boolean>, what: string, ms = 60_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('the unit under a real systemd', { skip: cannotBoot() }, () => {
  let sandbox: SystemdSandbox;
  let broker: Mosquitto;
  let observer: Observer;
  let parrot: Buffer;
  let scratch: string | undefined;

  /** Writes /etc/coral-pipe/coral-pipe.yaml inside; `extra` are more top-level YAML lines. */
  const writeConfig = (extra: readonly string[] = [], labels = 'labels/imagenet_labels.txt') =>
    sandbox.ok(
      `cat > /etc/coral-pipe/coral-pipe.yaml <<'EOF'\n${[
        `node: ${NODE}`,
        `mqtt: {url: "${broker.url}"}`,
        `cameras: {front: ${cameraTopic}}`,
        `model: {file: models/mobilenet_v2_1.0_224_quant.tflite, segments: 2, labels: ${labels}}`,
        ...extra,
      ].join('\n')}\nEOF`,
    );
  const journal = (options = '') => sandbox.ok(`journalctl -u ${UNIT} -o cat --no-pager ${options}`);
  const countLines = async (text: string) => (await journal()).split('\n').filter((l) => l.includes(text)).length;
  const frame = (payload: Buffer | string) => observer.client.publishAsync(cameraTopic, payload);

  before(async () => {
    broker = await Mosquitto.start();
    observer = await Observer.connect(broker.url, [`coral-pipe/${NODE}/#`]);
    parrot = await readFile(testDataPath('images/parrot.jpg'));
    // The package as npm would publish it (and its own scripts/install.sh), carried in: the checkout
    // may be on a volume that the sandbox's root does not include.
    scratch = await mkdtemp(path.join(tmpdir(), 'coral-pipe-systemd-'));
    const packed = await runProcess('npm', ['pack', '--silent', '--pack-destination', scratch], { cwd: projectRoot });
    assert.equal(packed.code, 0, packed.stderr);
    sandbox = await SystemdSandbox.boot();
    await sandbox.copyIn(path.join(scratch, packed.stdout.trim().split('\n').pop()!), PACKAGE);
    await sandbox.copyIn(testDataPath('models/mobilenet_v2_1.0_224_quant.tflite'), '/etc/coral-pipe/models/mobilenet_v2_1.0_224_quant.tflite');
    await sandbox.copyIn(testDataPath('labels/imagenet_labels.txt'), '/etc/coral-pipe/labels/imagenet_labels.txt');
    await sandbox.ok(`tar -xzf ${PACKAGE} -C /root`);
  });

  after(async () => {
    await sandbox?.shutdown();
    await observer?.close();
    await broker?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('installs with scripts/install.sh, the addon built even under npm\'s strictest install-script policy', async () => {
    const install = await sandbox.sh(`package/scripts/install.sh ${PACKAGE}`, { npm_config_strict_allow_scripts: 'true' });
    assert.equal(install.code, 0, `${install.stdout}\n${install.stderr}`);
    assert.match(install.stdout, /install: native addon built: /);
    assert.match(install.stdout, /install: enabled coral-pipe\.service/);
    await sandbox.ok(
      [
        // Shorter than the shipped 30 s and 5 s, so the watchdog test takes seconds; `systemctl edit` writes the same.
        'mkdir -p /etc/systemd/system/coral-pipe.service.d',
        "printf '[Service]\\nWatchdogSec=4\\nRestartSec=1\\n' > /etc/systemd/system/coral-pipe.service.d/test.conf",
        'systemctl daemon-reload',
      ].join(' && '),
    );
    await writeConfig();
  });

  it('reaches active on READY=1, once the pipeline is built and MQTT connected, with a STATUS naming the model', async () => {
    const from = observer.mark();
    await sandbox.ok(`systemctl start ${UNIT}`);
    const state = await sandbox.show(UNIT, 'ActiveState', 'SubState', 'StatusText');
    assert.equal(state.ActiveState, 'active');
    assert.equal(state.SubState, 'running');
    assert.match(state.StatusText!, /model mobilenet_v2_1\.0_224_quant in 2 segments/);
    await observer.nextText(topics.availability, 'online', from);
  });

  it('answers a frame through the local mosquitto (parrot.jpg: macaw)', async () => {
    const from = observer.mark();
    await frame(parrot);
    const result = json(await observer.next((s) => s.topic === topics.result('front'), 60_000, from));
    assert.equal(result.top[0].label, 'macaw');
  });

  it('files a bad frame\'s warning at priority warning in the journal, and info lines below it', async () => {
    const from = observer.mark();
    await frame('garbage');
    await observer.next((s) => s.topic === topics.error('front'), 10_000, from);
    await eventually(async () => (await journal('-p warning')).includes('"event":"bad-frame"'), 'the bad-frame warning in journalctl -p warning');
    const warnings = await journal('-p warning');
    assert.doesNotMatch(warnings, /"event":"ready"/, 'info lines are below priority warning');
  });

  it('reloads on systemctl reload, which returns once the config is in force; one reload per edit', async () => {
    const reloadsBefore = await countLines('"msg":"config reloaded"');
    const secondsBefore = (await countLines('"alreadyTried":true')) + (await countLines('"unchanged":true'));
    await writeConfig(['topK: 1']);
    await sandbox.ok(`systemctl reload ${UNIT}`);
    // In force when reload returned: the next answer has one class.
    const from = observer.mark();
    await frame(parrot);
    const result = json(await observer.next((s) => s.topic === topics.result('front'), 60_000, from));
    assert.equal(result.top.length, 1);
    // The file watcher saw the edit too: its turn ends in "already tried" (or "unchanged"), not a second reload.
    await eventually(
      async () => (await countLines('"alreadyTried":true')) + (await countLines('"unchanged":true')) > secondsBefore,
      "the file watcher's turn on the edit",
    );
    assert.equal((await countLines('"msg":"config reloaded"')) - reloadsBefore, 1, await journal());
  });

  it('fails systemctl reload on a config the daemon refuses, with the reason; the old config serves on', async () => {
    await writeConfig(['topK: 0']);
    const reload = await sandbox.sh(`systemctl reload ${UNIT}`);
    assert.notEqual(reload.code, 0, 'systemctl reload must fail');
    const state = await sandbox.show(UNIT, 'ActiveState', 'StatusText');
    assert.equal(state.ActiveState, 'active');
    assert.match(state.StatusText!, /^config rejected: .*topK: must be at least 1/);
    assert.match(await journal(), /coral-pipe reload: the daemon refused the config[^]*topK: must be at least 1/);
    const from = observer.mark();
    await frame(parrot);
    assert.equal(json(await observer.next((s) => s.topic === topics.result('front'), 60_000, from)).top.length, 1, 'still the config in force before');
    await writeConfig(['topK: 1']);
    await sandbox.ok(`systemctl reload ${UNIT}`);
  });

  it('is killed by the watchdog when it stops making progress (SIGSTOP), and restarted', async () => {
    const before = await sandbox.show(UNIT, 'MainPID', 'NRestarts');
    const from = observer.mark();
    await sandbox.ok(`kill -STOP ${before.MainPID}`);
    await eventually(async () => {
      const now = await sandbox.show(UNIT, 'MainPID', 'NRestarts', 'ActiveState');
      return now.ActiveState === 'active' && Number(now.NRestarts) === Number(before.NRestarts) + 1 && now.MainPID !== before.MainPID;
    }, 'a restart after the watchdog timeout');
    assert.match(await journal(), /Watchdog timeout/);
    await observer.nextText(topics.availability, 'online', from, 60_000);
  });

  it('stops cleanly on systemctl stop, saying stopped on MQTT, exit 0', async () => {
    const from = observer.mark();
    const started = performance.now();
    await sandbox.ok(`systemctl stop ${UNIT}`);
    console.log(`systemctl stop took ${Math.round(performance.now() - started)} ms`);
    await observer.next((s) => s.topic === topics.status && json(s).state === 'stopped', 10_000, from);
    // Retained, so a dashboard that connects later sees it too.
    const late = await Observer.connect(broker.url, [topics.status]);
    try {
      assert.equal(json(await late.next((s) => s.retain)).state, 'stopped');
    } finally {
      await late.close();
    }
    const state = await sandbox.show(UNIT, 'ActiveState', 'Result', 'ExecMainStatus');
    assert.deepEqual(state, { ActiveState: 'inactive', Result: 'success', ExecMainStatus: '0' });
  });

  it('fails at once on a config error at start, with the reason in systemctl status, and does not restart', async () => {
    await writeConfig(['topK: 0']);
    const start = await sandbox.sh(`systemctl start ${UNIT}`);
    assert.notEqual(start.code, 0);
    // `auto-restart` would be the loop; `failed` is the end.
    const state = await sandbox.show(UNIT, 'ActiveState', 'SubState', 'Result', 'ExecMainStatus');
    assert.deepEqual(state, { ActiveState: 'failed', SubState: 'failed', Result: 'exit-code', ExecMainStatus: '78' });
    const status = await sandbox.sh(`systemctl status ${UNIT} --no-pager -n 20`);
    assert.match(status.stdout, /status=78\/CONFIG/);
    assert.match(status.stdout, /coral-pipe\.yaml:\d+:\d+: topK: must be at least 1/);
    await sandbox.ok(`systemctl reset-failed ${UNIT}`);
  });

  it('check-config warns about a file in /tmp, and inside the unit (PrivateTmp=) the error says why', async () => {
    await sandbox.ok('mkdir -p /tmp/coral-pipe-hidden && cp /etc/coral-pipe/labels/imagenet_labels.txt /tmp/coral-pipe-hidden/labels.txt');
    await writeConfig([], '/tmp/coral-pipe-hidden/labels.txt');
    const check = await sandbox.sh('coral-pipe check-config /etc/coral-pipe/coral-pipe.yaml');
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stderr, /warning: .*model\.labels: \/tmp\/coral-pipe-hidden\/labels\.txt is out of the systemd unit's sight \(PrivateTmp=yes/);
    assert.notEqual((await sandbox.sh(`systemctl start ${UNIT}`)).code, 0);
    const status = await sandbox.sh(`systemctl status ${UNIT} --no-pager -n 20`);
    assert.match(status.stdout, /cannot read \/tmp\/coral-pipe-hidden\/labels\.txt: no such file \(the coral-pipe unit's PrivateTmp=yes/);
    await sandbox.ok(`systemctl reset-failed ${UNIT}`);
  });

  it('rates at most 1.5 in systemd-analyze security, online', async () => {
    await writeConfig();
    await sandbox.ok(`systemctl start ${UNIT}`);
    const report = await sandbox.ok(`systemd-analyze security ${UNIT} --no-pager`);
    const score = Number(/Overall exposure level for coral-pipe\.service: ([\d.]+)/.exec(report)?.[1]);
    console.log(`systemd-analyze security (online) exposure: ${score}`);
    assert.ok(score <= 1.5, report);
    await sandbox.ok(`systemctl stop ${UNIT}`);
  });
});
