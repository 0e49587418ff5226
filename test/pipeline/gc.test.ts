import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { helperScript } from '../helpers/cli.js';

const child = helperScript('pipeline-gc-child.js');

function run(mode: 'drop' | 'keep'): { started: number; left: number } {
  const result = spawnSync(process.execPath, ['--expose-gc', child, mode], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(result.status, 0, `child exited ${result.status}: ${result.stderr}`);
  return JSON.parse(result.stdout) as { started: number; left: number };
}

test('a runner dropped with unconsumed outputs is collected and its workers end', () => {
  assert.deepEqual(run('drop'), { started: 3, left: 0 });
});

test('a runner still referenced keeps its workers (the check above can see workers)', () => {
  assert.deepEqual(run('keep'), { started: 3, left: 3 });
});

test('a runner keeps the process alive while items are in it, and not once they are out', () => {
  // No close(): the child ends only if the idle runner lets go of its event loop.
  const result = spawnSync(process.execPath, [helperScript('runner-alive-child.js')], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(result.status, 0, `child exited ${result.status} (${result.signal ?? 'no signal'}): ${result.stderr}`);
  assert.equal(result.stdout, 'popped 42\n');
});
