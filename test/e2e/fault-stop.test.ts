/** Stopping while a reload is half-way: nothing may be left holding the process open. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { testDataPath } from '../../src/testdata.js';
import { brokerAndScratchDir } from '../helpers/mosquitto.js';
import { helperScript } from '../helpers/cli.js';

const child = helperScript('stop-race-child.js');

describe('stop during a reload', () => {
  const scratch = brokerAndScratchDir('coral-pipe-fault-stop-');

  it('the process exits by itself when SIGTERM lands while a reload reads the config', async () => {
    const file = path.join(scratch.dir, 'stop.yaml');
    await writeFile(
      file,
      [
        `node: stop-${process.pid}`,
        `mqtt: {url: "${scratch.broker.url}", topicPrefix: t${process.pid}}`,
        `model: ${JSON.stringify(testDataPath('models/mobilenet_v2_1.0_224_quant.tflite'))}`,
        `cameras: {a: stop/${process.pid}/a}`,
        '',
      ].join('\n'),
    );
    const proc = spawn(process.execPath, [child, file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    // The stats interval (60 s) is what a leaked timer would be: 30 s is plenty for a new process to
    // start the daemon, stop it and exit cleanly, even on a loaded machine, and well short of that.
    const exited = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 30_000);
      proc.once('exit', () => (clearTimeout(timer), resolve(true)));
    });
    if (!exited) proc.kill('SIGKILL');
    assert.equal(out, 'stopped\n');
    assert.ok(exited, 'the daemon process was still running 30 s after it was started');
    assert.equal(proc.exitCode, 0);
  });
});
