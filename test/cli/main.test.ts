import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { cliPath, projectRoot, runCli } from '../helpers/cli.js';
import { testDataPath } from '../../src/testdata.js';

/** The command names `coral-pipe help` lists, each with its one-line summary. */
async function listedCommands(): Promise<Map<string, string>> {
  const { code, stdout } = await runCli('help');
  assert.equal(code, 0);
  const rows = stdout.split('\n').filter((line) => /^ {2}\S/.test(line));
  return new Map(rows.map((line) => {
    const [, name, summary] = /^ {2}(\S+)\s+(.*)$/.exec(line) ?? [];
    return [name!, summary ?? ''];
  }));
}

describe('coral-pipe', () => {
  it('lists every command with a summary', async () => {
    const commands = await listedCommands();
    for (const name of ['inspect', 'classify', 'segment', 'check-chain', 'verify', 'run', 'devices', 'check-config', 'daemon', 'demo']) {
      assert.ok(commands.get(name), `${name} is listed with a summary`);
    }
  });

  it('installs as an executable `coral-pipe` command', async () => {
    const { bin } = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    const { stdout } = await promisify(execFile)(path.join(projectRoot, bin['coral-pipe']!), ['help']);
    assert.match(stdout, /^usage: coral-pipe COMMAND/);
  });

  it('exits 2 naming an unknown command', async () => {
    const { code, stderr } = await runCli('segmnt');
    assert.equal(code, 2);
    assert.match(stderr, /unknown command "segmnt"/);
  });

  it('exits 2 naming an unknown command asked for help on', async () => {
    const { code, stdout, stderr } = await runCli('help', 'nosuch');
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.match(stderr, /unknown command "nosuch"/);
  });

  it('lists the commands for --help, -h and `help -h`, with exit 0', async () => {
    const list = await runCli('help');
    for (const args of [['--help'], ['-h'], ['help', '-h']]) {
      assert.deepEqual(await runCli(...args), list, args.join(' '));
    }
  });

  it("answers --help and -h after any command with that command's help, as `help COMMAND` does, exit 0", async () => {
    for (const name of (await listedCommands()).keys()) {
      const help = await runCli('help', name);
      assert.equal(help.code, 0, name);
      assert.match(help.stdout, new RegExp(`^usage: coral-pipe ${name}`, 'm'), name);
      for (const flag of ['--help', '-h']) assert.deepEqual(await runCli(name, flag), help, `${name} ${flag}`);
    }
    // Among other arguments too: help, not a daemon that starts (or fails on the missing file).
    assert.deepEqual(await runCli('daemon', '--config', 'no-such.yaml', '-h'), await runCli('help', 'daemon'));
  });

  it('prints the package version for --version and -V', async () => {
    const { version } = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) assert.deepEqual(await runCli(flag), { code: 0, stdout: `${version}\n`, stderr: '' }, flag);
  });

  it('treats an unknown option as a usage error (exit 2, the option and the usage line) for every command', async () => {
    for (const name of (await listedCommands()).keys()) {
      const { code, stderr } = await runCli(name, '--no-such-option');
      assert.equal(code, 2, `${name}: ${stderr}`);
      assert.match(stderr, new RegExp(`^coral-pipe ${name}: .*--no-such-option`, 'm'), name);
      assert.match(stderr, new RegExp(`^usage: coral-pipe ${name}`, 'm'), name);
    }
  });

  it('stops quietly with exit 0 when the reader of its output goes away (`| head`)', async () => {
    const child = spawn(process.execPath, [cliPath, 'classify', '--model', testDataPath('models/mobilenet_v1_0.25_128_quant.tflite'),
      '--labels', testDataPath('labels/imagenet_labels.txt'), ...Array(40).fill(testDataPath('images/cat.png'))]);
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    await once(child.stdout, 'data');
    child.stdout.destroy();
    const [code] = await once(child, 'exit');
    assert.equal(stderr, '');
    assert.equal(code, 0);
  });
});
