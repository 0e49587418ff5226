// Every command README.md shows in its shell blocks, run as shown (through bash, in the project root,
// after the variable assignments shown before it) and checked. A command this file does not know how to
// check fails it, so that the README cannot show an unchecked command again.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { projectRoot, runProcess } from '../helpers/cli.js';
import { until } from '../helpers/fault-tools.js';
import { shellSteps, type ShellStep } from '../helpers/readme-shell.js';

const readme = readFileSync(path.join(projectRoot, 'README.md'), 'utf8');
const steps = shellSteps(readme);

/** README steps that are not coral-pipe commands, and why this test does not run them. */
const NOT_RUN: Record<string, string> = {
  // It already ran, or this test would not be here; again, it would replace node_modules under the tests.
  'npm ci': 'the install',
  // It runs this file too: it would never end.
  'npm test': 'the test suite itself',
};

/** What README.md says a run on Edge TPU segments prints where there is no Edge TPU (none of our machines has one). */
const NO_EDGE_TPU = ['needs an Edge TPU, but only 0 usable Edge TPU(s) are present', '(Edge TPUs present: none)'];

const INVOCATION = /^(?:npx coral-pipe|\.\/bin\/coral-pipe\.js) (\S+)/;

const script = (step: ShellStep, command = step.command) => [...step.assignments, command].join('\n');
const bash = (step: ShellStep) => runProcess('bash', ['-c', script(step)], { cwd: projectRoot, maxBuffer: 16 << 20 });

/** Runs until stopped: it must start, reach for the broker it is configured with, and stop cleanly on SIGTERM. */
async function checkDaemon(step: ShellStep): Promise<void> {
  // exec: SIGTERM goes to what the README starts, as from a terminal, not to a bash waiting on it.
  // Its own process group, so that whatever it leaves behind can be killed at the end.
  const child = spawn('bash', ['-c', script(step, `exec ${step.command}`)], { cwd: projectRoot, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const closed = once(child, 'close');
  let exit: { code: number | null; signal: string | null } | undefined;
  const exited = once(child, 'exit').then(([code, signal]) => (exit = { code, signal } as typeof exit));
  try {
    // Connected to a broker, or (usually: there is no broker on localhost:1883 in CI) retrying it.
    await until(() => exit !== undefined || /MQTT (connected|disconnected; retrying)/.test(out), () => `the daemon to reach for its broker; output:\n${out}`, 60_000);
    assert.equal(exit, undefined, `the daemon exited before it was stopped:\n${out}`);
    assert.match(out, /mqtt:\/\/localhost:1883/);
    child.kill('SIGTERM');
    assert.deepEqual(await exited, { code: 0, signal: null }, `exit after SIGTERM; output:\n${out}`);
    await closed;
    assert.match(out, /daemon stopped/);
  } finally {
    // A launcher that does not pass the signal on (npx) would leave the daemon running otherwise.
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // Already gone: the usual case.
    }
  }
}

async function checkNoEdgeTpu(step: ShellStep, name: string): Promise<void> {
  const { code, stderr } = await bash(step);
  assert.equal(code, 1, stderr);
  const lines = stderr.split('\n').filter((line) => line.startsWith(`coral-pipe ${name}: `));
  assert.ok(lines.some((line) => NO_EDGE_TPU.some((message) => line.includes(message))), `no documented "no Edge TPU" line in:\n${stderr}`);
}

async function checkSucceeds(step: ShellStep): Promise<void> {
  const { code, stdout, stderr } = await bash(step);
  assert.equal(code, 0, `${stderr}\n${stdout}`);
}

describe('the commands README.md shows', () => {
  // Output folders of the README's commands start empty, as on a fresh machine: stale segment files
  // there would be globbed into the next commands.
  const outDirs = steps.flatMap((step) => [...step.command.matchAll(/--out (\/tmp\/\S+)/g)].map((m) => m[1]!));
  const clearOutDirs = () => outDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
  before(clearOutDirs);
  after(clearOutDirs);

  it('are found, and the "no Edge TPU" messages checked here are the ones the README states', () => {
    assert.ok(steps.some((step) => INVOCATION.test(step.command)), 'no coral-pipe command found in README.md');
    const prose = readme.replace(/\s+/g, ' ');
    for (const message of NO_EDGE_TPU) assert.ok(prose.includes(message), `README.md does not state "${message}"`);
  });

  for (const step of steps) {
    const name = INVOCATION.exec(step.command)?.[1];
    if (name === undefined) {
      const why = NOT_RUN[step.command];
      if (why !== undefined) it.skip(`${step.command} (${why})`);
      else it(step.command, () => assert.fail(`README.md shows a command this test does not know how to check: ${step.command}`));
    } else if (name === 'daemon') {
      it(`${step.command}: starts, reaches for its broker, stops on SIGTERM with exit 0`, () => checkDaemon(step));
    } else if (/_edgetpu\.tflite|--devices \S*(usb|pci):/.test(step.command)) {
      it(`${step.command}: exit 1 saying there is no Edge TPU`, () => checkNoEdgeTpu(step, name));
    } else {
      it(`${step.command}: exit 0`, () => checkSucceeds(step));
    }
  }
});
