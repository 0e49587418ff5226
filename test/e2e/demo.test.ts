import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { cliPath } from '../helpers/cli.js';

const cli = cliPath;

/** Top-1 labels of the official TFLite runtime, from the test data's README. */
const EXPECTED: Record<string, string> = {
  'cat.png': 'Egyptian cat',
  'cat_720p.jpg': 'Egyptian cat',
  'bird.png': 'chickadee',
  'grace_hopper.png': 'military uniform',
  'parrot.jpg': 'macaw',
  'hot_dog.jpg': 'hotdog, hot dog, red hot',
  'owl.jpg': 'ruffed grouse',
};

describe('coral-pipe demo', () => {
  it('runs broker, daemon and cameras in one command, prints each image top-1 label and exits 0', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [cli, 'demo'], { timeout: 150_000 });
    const lines = stdout.trim().split('\n').slice(1);
    assert.equal(lines.length, Object.keys(EXPECTED).length, stdout);
    for (const [image, label] of Object.entries(EXPECTED)) {
      const line = lines.find((l) => l.startsWith(`${image}: `));
      assert.ok(line, `no line for ${image} in:\n${stdout}`);
      assert.ok(line.slice(image.length + 2).startsWith(label), line);
    }
  });
});
