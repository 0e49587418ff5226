import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { testDataPath } from '../../src/testdata.js';
import { encodeBmp } from '../helpers/bmp.js';
import { projectRoot } from '../helpers/cli.js';

const root = projectRoot;
const script = path.join(root, 'scripts/fetch-test-data.sh');

async function run(file: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(file, args, { env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Every file under `dir`, as paths relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();
}

const pixels = (file: string) => sharp(file).removeAlpha().raw().toBuffer();

describe('scripts/fetch-test-data.sh', () => {
  let dir: string;
  let mirror: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'coral-pipe-fetch-'));
    // A stand-in for the repository's layout (flat, invalid_models/, pipeline/, BMP originals),
    // served to the script through curl's file:// support.
    mirror = path.join(dir, 'mirror');
    await mkdir(path.join(mirror, 'invalid_models'), { recursive: true });
    await mkdir(path.join(mirror, 'pipeline'));
    const data = testDataPath();
    for (const f of await readdir(path.join(data, 'models'))) {
      const where = f === 'model_invoking_error.tflite' ? `invalid_models/${f}` : f;
      await symlink(path.join(data, 'models', f), path.join(mirror, where));
    }
    for (const f of await readdir(path.join(data, 'segments'))) await symlink(path.join(data, 'segments', f), path.join(mirror, 'pipeline', f));
    for (const f of await readdir(path.join(data, 'labels'))) await symlink(path.join(data, 'labels', f), path.join(mirror, f));
    await symlink(path.join(data, 'COPYRIGHT'), path.join(mirror, 'COPYRIGHT'));
    for (const f of await readdir(path.join(data, 'images'))) {
      const file = path.join(data, 'images', f);
      if (f.endsWith('.jpg')) {
        await symlink(file, path.join(mirror, f));
      } else {
        const { data: rgb, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
        await writeFile(path.join(mirror, f.replace(/\.png$/, '.bmp')), encodeBmp(rgb, info.width, info.height, f.startsWith('grace')));
      }
    }
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('is valid bash', async () => {
    const r = await run('bash', ['-n', script]);
    assert.equal(r.code, 0, r.stderr);
  });

  it('lays the repository out as models/, segments/, images/ (BMPs as PNGs, same pixels), labels/', async () => {
    const out = path.join(dir, 'out');
    const r = await run(script, [out], { CORAL_TEST_DATA_URL: `file://${mirror}` });
    assert.equal(r.code, 0, r.stderr);
    const data = testDataPath();
    const expected = (await filesUnder(data)).filter((f) => !['README.md', 'LICENSE'].includes(f));
    assert.deepEqual(await filesUnder(out), expected);
    for (const f of expected) {
      if (f.endsWith('.png')) assert.deepEqual(await pixels(path.join(out, f)), await pixels(path.join(data, f)), f);
      else assert.ok((await readFile(path.join(out, f))).equals(await readFile(path.join(data, f))), f);
    }
  });

  it('stops with a message naming the file it could not download', async () => {
    const r = await run(script, [path.join(dir, 'out2')], { CORAL_TEST_DATA_URL: `file://${dir}/nowhere` });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /could not download file:\/\/.*\/nowhere\/mobilenet_v2_1\.0_224_quant\.tflite/);
    assert.equal((await run(script, [])).code, 2);
  });

  it('refuses BMPs it cannot convert, naming the problem', async () => {
    const bmp = encodeBmp(new Uint8Array(12), 2, 2);
    bmp.writeUInt32LE(1, 30); // BI_RLE8
    await writeFile(path.join(dir, 'rle.bmp'), bmp);
    const r = await run(process.execPath, [path.join(root, 'scripts/bmp-to-png.mjs'), path.join(dir, 'rle.bmp'), path.join(dir, 'rle.png')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /rle\.bmp: compression 1 is not supported/);
  });
});
