/**
 * Seeded mutations of real .tflite files into `inspect`, `segment` (run in this process, their output
 * captured) and the daemon's model load: each succeeds or fails with one of the project's typed errors;
 * nothing else, nothing hangs. A few CLI processes check the exit code and the one-line message.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { Command } from '../../src/cli/command.js';
import inspect from '../../src/cli/commands/inspect.js';
import segment from '../../src/cli/commands/segment.js';
import { resolveConfig } from '../../src/daemon/config/config-load.js';
import { createLogger } from '../../src/daemon/lifecycle/logger.js';
import { createPipelineClassifier } from '../../src/daemon/frames/pipeline-classifier.js';
import { modelBytes } from '../helpers/model-files.js';
import { below, mutateBytes, pick, prng, type Random } from '../helpers/seeded.js';
import { untypedProblem } from '../helpers/typed-error.js';
import { projectRoot } from '../helpers/cli.js';

const root = projectRoot;
const MODELS = ['models/mobilenet_v1_0.25_128_quant.tflite', 'models/split_concat.tflite', 'models/mobilenet_v1_0.25_128_quant_edgetpu.tflite'];
const WORDS = [0, 1, 0x7f, 0x80, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffc, 4, 16];

/** A byte-level mutation, or an interesting 32-bit word near either end, where the flatbuffer's tables and vectors start. */
function mutateModel(r: Random, bytes: Buffer): Buffer {
  if (r() < 0.5) return mutateBytes(r, bytes, bytes.length + 4096);
  const out = Buffer.from(bytes);
  const span = Math.min(out.length - 4, 1024);
  const at = (r() < 0.5 ? below(r, span) : out.length - 4 - below(r, span)) & ~3;
  out.writeUInt32LE(pick(r, WORDS), at);
  return out;
}

/** Runs a command here, with what it prints kept: strings only, the test runner's own Buffers pass. */
async function runCaptured(command: Command, argv: string[]): Promise<{ code?: number; error?: unknown; out: string }> {
  const write = process.stdout.write;
  let out = '';
  process.stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (typeof chunk === 'string') return (out += chunk), true;
    return (write as (...a: unknown[]) => boolean).call(process.stdout, chunk, ...rest);
  }) as typeof process.stdout.write;
  try {
    return { code: await command.run(argv), out };
  } catch (error) {
    return { error, out };
  } finally {
    process.stdout.write = write;
  }
}

describe('mutated model files', () => {
  let dir: string;
  const originals = MODELS.map((m) => Buffer.from(modelBytes(m)));
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'coral-pipe-model-fuzz-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** Mutated file `i` of `seedBase`, written to disk. */
  async function mutatedFile(seedBase: number, i: number): Promise<{ seed: number; file: string }> {
    const seed = seedBase + i;
    const r = prng(seed);
    const file = path.join(dir, `m${seed}.tflite`);
    await writeFile(file, mutateModel(r, originals[i % originals.length]!));
    return { seed, file };
  }

  for (const [command, cases, args] of [
    [inspect, 900, (f: string) => [f, '--json']],
    [segment, 300, (f: string) => [f, '--num-segments', '2', '--out', path.join(dir, 'out')]],
  ] as const) {
    it(`${command.name}: ${cases} mutated models give a result or a typed error`, async () => {
      const outcome = { ok: 0, refused: 0 };
      const errors: Record<string, number> = {};
      for (let i = 0; i < cases; i++) {
        const { seed, file } = await mutatedFile(command.name === 'inspect' ? 0x1a5 : 0x5e6, i);
        const result = await runCaptured(command, args(file));
        await rm(file);
        if (result.error === undefined) {
          assert.equal(result.code, 0);
          assert.ok(result.out.length > 0, `seed ${seed}: printed nothing`);
          outcome.ok++;
          continue;
        }
        const problem = untypedProblem(result.error);
        if (problem) assert.fail(`${command.name} seed ${seed} (${MODELS[i % MODELS.length]}): ${problem}`);
        const name = (result.error as Error).name;
        errors[name] = (errors[name] ?? 0) + 1;
        outcome.refused++;
      }
      console.log(`${command.name} model fuzz: ${JSON.stringify(outcome)}, errors ${JSON.stringify(errors)}`);
      assert.ok(outcome.refused > cases / 10 && outcome.ok > cases / 10, JSON.stringify(outcome));
    });
  }

  it('daemon model load: mutated models build a pipeline or are refused with a typed error, in bounded time', async () => {
    const log = createLogger({ level: 'silent' });
    const errors: Record<string, number> = {};
    let built = 0;
    for (let i = 0; i < 40; i++) {
      const { seed, file } = await mutatedFile(0xd1e, i * MODELS.length); // the CPU mobilenet only
      const text = `model: {file: ${JSON.stringify(file)}, segments: ${1 + (i % 2)}}\ncameras: {a: t}\ndevices: [${i % 2 ? 'cpu:0, cpu:1' : 'cpu:0'}]\n`;
      const config = await resolveConfig(text, path.join(dir, 'c.yaml'));
      let timer: NodeJS.Timeout | undefined;
      const hang = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`seed ${seed}: model load did not finish in 60 s`)), 60_000)));
      try {
        const classifier = await Promise.race([createPipelineClassifier(config, log), hang]);
        built++;
        await classifier.close();
      } catch (err) {
        assert.doesNotMatch(String((err as Error).message), /did not finish/);
        const problem = untypedProblem(err);
        if (problem) assert.fail(`daemon load seed ${seed}: ${problem}`);
        errors[(err as Error).name] = (errors[(err as Error).name] ?? 0) + 1;
      } finally {
        clearTimeout(timer);
      }
    }
    console.log(`daemon model-load fuzz: ${built} built, errors ${JSON.stringify(errors)}`);
    assert.ok(Object.keys(errors).length > 0, 'no mutation was refused');
  });

  it('the CLI exits 1 with one line naming the file for mutated models', async () => {
    const cli = path.join(root, 'dist/src/cli/main.js');
    let checked = 0;
    for (let i = 0; checked < 4; i++) {
      const { seed, file } = await mutatedFile(0xc1, i);
      const [command, ...args] = i % 2 ? ['segment', file, '-n', '2', '--out', path.join(dir, 'cli-out')] : ['inspect', file];
      const inProcess = await runCaptured(command === 'inspect' ? inspect : segment, args);
      if (inProcess.error === undefined) continue;
      checked++;
      const r = await promisify(execFile)(process.execPath, [cli, command!, ...args], { timeout: 30_000 }).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => e,
      );
      assert.equal(r.code, 1, `seed ${seed}: ${r.stderr}`);
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, new RegExp(`^coral-pipe ${command}: \\w+Error: `));
      // A file that does not decode is named; a SegmentationError is about the request, the file is on the command line.
      assert.ok(lines[0]!.includes(file) || /: SegmentationError: /.test(lines[0]!), lines[0]);
    }
  });

  it('inspect and segment name a missing model file in a typed error', async () => {
    const missing = path.join(dir, 'no-such.tflite');
    for (const [command, args] of [[inspect, [missing]], [segment, [missing, '-n', '2', '--out', dir]]] as const) {
      const { error } = await runCaptured(command, [...args]);
      assert.equal(untypedProblem(error), undefined, command.name);
      assert.match((error as Error).message, /cannot read model file .*no-such\.tflite: no such file/);
    }
  });
});
