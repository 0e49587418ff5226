// Install step: puts a real TensorFlow Lite C library (2.9.0) and its headers in native/tflite/. Coral's
// packages ship libedgetpu only and Debian has no TFLite C library, so without this an Edge TPU segment
// has nothing to run in. The library comes from the npm package tfjs-tflite-node@0.0.2 (Apache-2.0, by
// the TensorFlow.js team), fetched through npm (its registry, proxy and cache settings), checked
// against a pinned hash, and cut down to this machine's library and the headers: the package as a
// dependency would pull 95 MB and build an addon of its own. Never fails the install.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const TFLITE_PACKAGE = 'tfjs-tflite-node@0.0.2';
export const TFLITE_INTEGRITY = 'sha512-Zed9biOz9lkWsekvPwdEmxXnsjXJnZO8iOV0s2Y20QU15cwiPedzFEBYiGbK7smYpkJpQNNY9SukoKmUi9bk9w==';
/** The package's folder for each Linux architecture Node reports. */
const ARCH_DIRS = { x64: 'linux_amd64', arm64: 'linux_arm64' };

const here = path.dirname(fileURLToPath(import.meta.url));

/** npm as the install runs it (npm sets npm_execpath), else the one on PATH. */
function npm(args, cwd) {
  const cli = process.env.npm_execpath;
  const [cmd, argv] = cli && cli.endsWith('.js') ? [process.execPath, [cli, ...args]] : ['npm', args];
  return spawnSync(cmd, argv, { cwd, encoding: 'utf8' });
}

/**
 * Fetches the package into `dest` (default native/tflite): `lib/libtensorflowlite_c.so`, `include/` and
 * `SOURCE.json`. Returns what it did, or throws naming the step that failed. `arch` fetches another
 * architecture's library (to build an image for a board); `integrity` is for tests.
 */
export function fetchTflite({ dest = path.join(here, 'tflite'), arch = process.arch, platform = process.platform, integrity: pinned = TFLITE_INTEGRITY } = {}) {
  const archDir = ARCH_DIRS[arch];
  if (platform !== 'linux' || !archDir) throw new Error(`${TFLITE_PACKAGE} has no TensorFlow Lite C library for ${platform}-${arch}`);
  const source = { package: TFLITE_PACKAGE, integrity: pinned, arch: archDir };
  const sourceFile = path.join(dest, 'SOURCE.json');
  if (existsSync(sourceFile) && readFileSync(sourceFile, 'utf8') === `${JSON.stringify(source)}\n`) return { dest, fetched: false };

  const work = mkdtempSync(path.join(os.tmpdir(), 'coral-pipe-tflite-'));
  try {
    const pack = npm(['pack', TFLITE_PACKAGE, '--json', '--pack-destination', work], work);
    if (pack.status !== 0) throw new Error(`npm pack ${TFLITE_PACKAGE} failed: ${(pack.stderr || pack.error?.message || '').trim().split('\n').slice(-3).join(' ')}`);
    const [{ filename }] = JSON.parse(pack.stdout);
    const tarball = path.join(work, filename);
    const integrity = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
    if (integrity !== pinned) throw new Error(`${filename} has integrity ${integrity}, not the pinned ${pinned}`);
    const untar = spawnSync('tar', ['-xzf', tarball, '-C', work, `package/cc_deps/${archDir}/libtensorflowlite_c.so`, 'package/cc_deps/include'], { encoding: 'utf8' });
    if (untar.status !== 0) throw new Error(`tar could not unpack ${filename}: ${(untar.stderr || untar.error?.message || '').trim()}`);
    // Built beside dest and renamed into place, so an interrupted install leaves no half library.
    const staged = `${dest}.partial`;
    rmSync(staged, { recursive: true, force: true });
    mkdirSync(path.join(staged, 'lib'), { recursive: true });
    renameSync(path.join(work, 'package/cc_deps', archDir, 'libtensorflowlite_c.so'), path.join(staged, 'lib/libtensorflowlite_c.so'));
    renameSync(path.join(work, 'package/cc_deps/include'), path.join(staged, 'include'));
    writeFileSync(path.join(staged, 'SOURCE.json'), `${JSON.stringify(source)}\n`);
    rmSync(dest, { recursive: true, force: true });
    renameSync(staged, dest);
    return { dest, fetched: true };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** fetchTflite for the install: says what it did, and on failure what still works and how to retry. */
export function installTflite(options = {}) {
  try {
    const { dest, fetched } = fetchTflite(options);
    console.log(`coral-pipe: TensorFlow Lite C library ${fetched ? 'fetched into' : 'already in'} ${dest}`);
  } catch (err) {
    console.warn(
      `coral-pipe: no TensorFlow Lite C library was installed (${err.message}). The CPU engine (LiteRT.js) ` +
        'works; Edge TPU segments need one: run `node native/fetch-tflite.mjs` with access to the npm registry, ' +
        'or set CORAL_PIPE_LIBTFLITE_C to a libtensorflowlite_c.so.',
    );
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) installTflite();
