/** Stopping while a reload is half-way: nothing may be left holding the process open. */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { testDataPath } from '../../src/testdata.js';
import { brokerAndScratchDir } from '../helpers/mosquitto.js';
import { helperScript, runProcess } from '../helpers/cli.js';

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
    // The stats interval (60 s) is what a leaked timer would be: 30 s is plenty for a new process to
    // start the daemon, stop it and exit cleanly, even on a loaded machine, and well short of that.
    const { code, stdout: out, stderr } = await runProcess(process.execPath, [child, file], { timeout: 30_000, killSignal: 'SIGKILL' });
    assert.equal(out, 'stopped\n', stderr);
    assert.equal(code, 0, `the daemon process was still running 30 s after it was started, or it failed: ${stderr}`);
  });
});
