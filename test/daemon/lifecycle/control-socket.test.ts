/**
 * `coral-pipe reload` (the unit's ExecReload=) against a daemon in its own process: it waits for the
 * outcome, fails with the daemon's reasons on a refused config, makes one reload of an edit that the
 * file watcher also sees, and does nothing when nothing changed; a model file replaced under the same
 * name is a change.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { listenControl, requestReload, unitControlSocket, defaultControlSocket } from '../../../src/daemon/lifecycle/control-socket.js';
import { testDataPath } from '../../../src/testdata.js';
import { runCli } from '../../helpers/cli.js';
import { event, spawnDaemon, type DaemonProcess } from '../../helpers/daemon-process.js';
import { brokerAndScratchDir } from '../../helpers/mosquitto.js';

describe('coral-pipe reload', () => {
  const scratch = brokerAndScratchDir('coral-pipe-control-');
  let n = 0;

  /** A config on the test broker; `extra` are more top-level YAML lines. */
  async function writeConfig(file: string, model: string, extra: readonly string[] = []): Promise<void> {
    await writeFile(
      file,
      [`node: control-${process.pid}`, `mqtt: {url: "${scratch.broker.url}", topicPrefix: ctl${process.pid}}`, `model: ${JSON.stringify(model)}`, 'cameras: {a: ctl/a}', ...extra, ''].join('\n'),
    );
  }

  /** A daemon on its own config and control socket, up and serving. */
  async function startDaemon(t: TestContext): Promise<{ d: DaemonProcess; file: string; socket: string; model: string }> {
    n++;
    const dir = path.join(scratch.dir, `d${n}`);
    await mkdir(dir, { recursive: true });
    const model = path.join(dir, 'model.tflite');
    await copyFile(testDataPath('models/mobilenet_v1_0.25_128_quant.tflite'), model);
    const file = path.join(dir, 'config.yaml');
    await writeConfig(file, model);
    const socket = path.join(dir, 'control.sock');
    const d = spawnDaemon(file, ['--control-socket', socket]);
    t.after(async () => {
      d.child.kill('SIGTERM');
      await d.exit;
    });
    await d.nextLine(event('ready'), 'ready');
    return { d, file, socket, model };
  }

  const reload = (socket: string) => runCli('reload', '--socket', socket);

  it('waits for the outcome: applied when it returns, and a second request finds nothing changed', async (t) => {
    const { d, file, socket, model } = await startDaemon(t);
    await writeConfig(file, model, ['topK: 1']);
    const from = d.lines.length;
    const first = await reload(socket);
    assert.equal(first.code, 0, first.stderr);
    // Logged before the command returned: the reload was done, not just asked for.
    assert.ok(d.lines.slice(from).some(event('reload', { ok: true })), `no "config reloaded" line before reload returned:\n${d.output()}`);
    assert.match(first.stdout, /^reloaded: /);
    const second = await reload(socket);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /nothing changed since the config in force/);
  });

  it('fails with the daemon\'s reasons when it refuses the config; the old one serves on', async (t) => {
    const { d, file, socket, model } = await startDaemon(t);
    await writeConfig(file, model, ['topK: 0']);
    const refused = await reload(socket);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /refused the config and serves on with the previous one/);
    assert.match(refused.stderr, /config\.yaml:\d+:\d+: topK: must be at least 1/);
    assert.equal(d.child.exitCode, null, 'the daemon is still running');
    await writeConfig(file, model);
    assert.equal((await reload(socket)).code, 0);
  });

  it('makes one reload of an edit that the file watcher sees too', async (t) => {
    const { d, file, socket, model } = await startDaemon(t);
    const from = d.lines.length;
    await writeConfig(file, model, ['topK: 2']);
    assert.equal((await reload(socket)).code, 0);
    // Whichever came first, the watcher's turn ends in one of these two lines; then count.
    await d.nextLine((l) => event('reload', { alreadyTried: true })(l) || event('reload', { unchanged: true })(l), 'the second reload of the edit', from);
    const applied = d.lines.slice(from).filter(event('reload', { ok: true }));
    assert.equal(applied.length, 1, `reloads applied: ${JSON.stringify(applied)}`);
  });

  it('rebuilds the pipeline when the model file was replaced under the same name', async (t) => {
    const { socket, model } = await startDaemon(t);
    const before = await stat(model);
    await copyFile(testDataPath('models/mobilenet_v1_0.5_160_quant.tflite'), model);
    // A copy within the same second as the first keeps a distinct size; the time is moved for good measure.
    await utimes(model, before.atime, new Date(before.mtimeMs + 2000));
    const r = await reload(socket);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /new pipeline swapped in/);
  });

  it('says plainly when no daemon listens; a daemon replaces a file nobody answers on, never a live socket', async () => {
    const socket = path.join(scratch.dir, 'nobody.sock');
    const none = await reload(socket);
    assert.equal(none.code, 1);
    assert.match(none.stderr, new RegExp(`cannot reach the daemon on ${socket.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: no daemon listens there`));

    // A file nobody answers on (a crashed daemon's socket) is replaced; a socket a daemon answers on is not.
    const stale = path.join(scratch.dir, 'stale.sock');
    await writeFile(stale, '');
    const server = await listenControl(stale, { reload: async () => ({ ok: true, unchanged: true }) });
    try {
      assert.deepEqual(await requestReload(stale, 10_000), { ok: true, unchanged: true });
      await assert.rejects(listenControl(stale, { reload: async () => ({ ok: true }) }), /another coral-pipe daemon answers on/);
    } finally {
      await server.close();
    }
  });

  it('finds the socket in $RUNTIME_DIRECTORY, as systemd sets it for ExecStart= and ExecReload= alike', () => {
    assert.equal(unitControlSocket({ RUNTIME_DIRECTORY: '/run/coral-pipe' }), '/run/coral-pipe/control.sock');
    assert.equal(unitControlSocket({}), undefined);
    assert.equal(defaultControlSocket({}), '/run/coral-pipe/control.sock');
  });
});
