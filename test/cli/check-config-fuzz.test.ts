/**
 * Seeded mutations of real config files (the shipped YAML, a JSON one) into the config loader and
 * `check-config`: each either loads or fails with a ConfigError whose every problem names the file, a
 * line and column, the field and what is wrong, on one line; never another error, never a hang.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, formatProblem } from '../../src/daemon/config/config-error.js';
import { resolveConfig } from '../../src/daemon/config/config-load.js';
import { testDataPath } from '../../src/testdata.js';
import { below, mutateBytes, pick, prng, type Random } from '../helpers/seeded.js';
import { projectRoot, runCli } from '../helpers/cli.js';

const root = projectRoot;
const CASES = 3000;

const ODD_VALUES = [
  '', '~', 'null', '-1', '1e999', '.inf', '.nan', '0x10', 'yes', '"+"', '"#"', '"a/b"', '"a\\0b"', '[', '{', '}', ']',
  '&a x', '*a', '*nowhere', '!!binary AAAA', '!!int x', '!!map x', '!custom x', '[1, [2, [3]]]', '{a: {b: {c: 1}}}',
  '2024-01-01', '|', '>', '- x', '"\\u0000"', `"${'x'.repeat(5000)}"`, "'unterminated", '"unterminated', '? [a]', '<<: *a',
];
const ODD_LINES = [
  'extra: 1', 'cameras:', 'model:', '  - list', '\tindented: tab', '--- ', '...', '%YAML 1.1', '"a/+": t', 'node: a/b',
  '<<: {x: 1}', '? complex', '&anchor', '*alias', '# comment', '"\\u0000": t',
  'a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]',
];

/** One mutation of config text: of its bytes, its lines, or one of its values. */
function mutate(r: Random, text: string): string {
  const lines = text.split('\n');
  const line = () => below(r, lines.length);
  switch (below(r, 6)) {
    case 0:
      return mutateBytes(r, Buffer.from(text)).toString('utf8');
    case 1:
      lines.splice(line(), 1 + below(r, 3));
      break;
    case 2: {
      const [a, b] = [line(), line()];
      [lines[a], lines[b]] = [lines[b]!, lines[a]!];
      break;
    }
    case 3: {
      const i = line();
      lines[i] = (r() < 0.5 ? ' '.repeat(1 + below(r, 4)) : r() < 0.5 ? '\t' : '') + lines[i]!.replace(/^ {1,4}/, '');
      break;
    }
    case 4:
      lines.splice(line(), 0, pick(r, ODD_LINES));
      break;
    default: {
      // A value replaced: `key: value` (YAML) or `"key": value,` (JSON).
      const candidates = lines.flatMap((l, i) => (/:\s*\S/.test(l) && !l.trimStart().startsWith('#') ? [i] : []));
      if (candidates.length === 0) return text;
      const i = pick(r, candidates);
      lines[i] = lines[i]!.replace(/:\s*.*$/, `: ${pick(r, ODD_VALUES)}`);
    }
  }
  return lines.join('\n');
}

describe('config files under mutation', () => {
  let dir: string;
  let bases: { name: string; text: string }[];
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'coral-pipe-config-fuzz-'));
    // The shipped example names models/ and labels/ beside itself.
    await symlink(testDataPath('models'), path.join(dir, 'models'));
    await symlink(testDataPath('labels'), path.join(dir, 'labels'));
    const shipped = await readFile(path.join(root, 'config/coral-pipe.yaml'), 'utf8');
    const json = JSON.stringify(
      { node: 'n1', mqtt: { url: 'mqtts://h:8883', username: 'u', password: 'p', reconnectMinMs: 100 }, cameras: { a: 'x/a', b: { topics: ['x/b'], crop: { x: 0, y: 0, width: 8, height: 8 } } }, model: { file: 'models/mobilenet_v1_0.25_128_quant.tflite', segments: 2 }, devices: ['cpu:0', 'cpu:1'], limits: { queueDepth: 2 } },
      null,
      2,
    );
    bases = [{ name: 'coral-pipe.yaml', text: shipped }, { name: 'c.json', text: json }];
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it(`loads or explains each of ${CASES} mutated configs, every problem located and on one line`, async () => {
    const outcome = { loaded: 0, refused: 0, problems: 0, unlocated: 0 };
    for (const base of bases) {
      const file = path.join(dir, base.name);
      // The unmutated files load: the mutations start from something valid.
      await resolveConfig(base.text, file);
    }
    for (let i = 0; i < CASES; i++) {
      const r = prng(0xc0f1 + i);
      const base = bases[i % bases.length]!;
      let text = base.text;
      for (let n = 1 + below(r, 3); n > 0; n--) text = mutate(r, text);
      const file = path.join(dir, base.name);
      try {
        const config = await resolveConfig(text, file);
        assert.ok(Object.keys(config.cameras).length > 0);
        outcome.loaded++;
      } catch (err) {
        if (!(err instanceof ConfigError)) assert.fail(`seed ${0xc0f1 + i}: threw ${err instanceof Error ? err.stack : String(err)}\n--- config ---\n${text.slice(0, 2000)}`);
        assert.ok(err.problems.length > 0, `seed ${0xc0f1 + i}: ConfigError without problems`);
        outcome.refused++;
        for (const p of err.problems) {
          outcome.problems++;
          const line = formatProblem(p);
          assert.equal(p.file, file);
          assert.ok(p.message.length > 0 && !line.includes('\n'), `seed ${0xc0f1 + i}: ${JSON.stringify(line)}`);
          assert.ok(Number.isInteger(p.line) && p.line >= 0 && p.line <= text.split('\n').length + 1, `seed ${0xc0f1 + i}: line ${p.line}`);
          // Only a problem with the document as a whole (an empty file) may lack a line.
          if (p.line === 0) {
            outcome.unlocated++;
            assert.equal(p.path, '', `seed ${0xc0f1 + i}: ${line}`);
          }
        }
      }
    }
    console.log(`config fuzz: ${JSON.stringify(outcome)}`);
    assert.equal(outcome.loaded + outcome.refused, CASES);
    assert.ok(outcome.refused > CASES / 4 && outcome.loaded > CASES / 50, JSON.stringify(outcome));
  });

  it('check-config exits 1 with one located line per problem for mutated files, 0 for valid ones', async () => {
    let refused = 0;
    for (let i = 0; refused < 4; i++) {
      const r = prng(0xc11 + i);
      const base = bases[i % bases.length]!;
      const text = mutate(r, mutate(r, base.text));
      const file = path.join(dir, `m${i}-${base.name}`);
      await writeFile(file, text);
      let expected: ConfigError | undefined;
      await resolveConfig(text, file).catch((err: ConfigError) => (expected = err));
      const result = await runCli('check-config', file);
      if (expected === undefined) {
        assert.equal(result.code, 0, result.stderr);
        continue;
      }
      refused++;
      assert.equal(result.code, 1, `seed ${0xc11 + i}: ${result.stderr}`);
      const lines = result.stderr.trimEnd().split('\n');
      assert.deepEqual(lines, expected.problems.map(formatProblem));
      for (const l of lines) assert.ok(l.startsWith(`${file}:`), l);
    }
  });
});
