/**
 * native/fetch-tflite.mjs, the install step that puts the real TensorFlow Lite C library beside the
 * addon: fetched from the npm registry through npm, checked against the pinned hash, cut down to one
 * architecture's library and the headers; a failure warns and never fails the install.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { nativeRoot } from '../../src/native/addon.js';

interface FetchModule {
  TFLITE_PACKAGE: string;
  TFLITE_INTEGRITY: string;
  fetchTflite(options?: { dest?: string; arch?: string; platform?: string; integrity?: string }): { dest: string; fetched: boolean };
  installTflite(options?: { dest?: string; arch?: string; integrity?: string }): void;
}
const fetcher = (await import(pathToFileURL(path.join(nativeRoot(), 'fetch-tflite.mjs')).href)) as FetchModule;

/** The ELF machine of a shared library: 62 x86-64, 183 AArch64. */
const elfMachine = (file: string) => readFileSync(file).readUInt16LE(18);

describe('fetching the TensorFlow Lite C library at install', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'coral-pipe-fetch-tflite-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("fetches the arm64 library (a board's) and the headers, then knows it has them", () => {
    const dest = path.join(dir, 'arm64');
    assert.deepEqual(fetcher.fetchTflite({ dest, arch: 'arm64' }), { dest, fetched: true });
    assert.equal(elfMachine(path.join(dest, 'lib/libtensorflowlite_c.so')), 183);
    assert.deepEqual(readdirSync(path.join(dest, 'include/tensorflow/lite/c')).sort(), ['c_api.h', 'c_api_types.h', 'common.h']);
    assert.deepEqual(JSON.parse(readFileSync(path.join(dest, 'SOURCE.json'), 'utf8')), { package: fetcher.TFLITE_PACKAGE, integrity: fetcher.TFLITE_INTEGRITY, arch: 'linux_arm64' });
    assert.deepEqual(readdirSync(dest).sort(), ['SOURCE.json', 'include', 'lib'], 'more than the library and headers kept');
    assert.deepEqual(fetcher.fetchTflite({ dest, arch: 'arm64' }), { dest, fetched: false });
    // The install's own copy is this machine's.
    assert.equal(elfMachine(path.join(nativeRoot(), 'tflite/lib/libtensorflowlite_c.so')), process.arch === 'arm64' ? 183 : 62);
  });

  it('refuses a tarball that does not match the pinned hash, leaving nothing behind, and names both', () => {
    const dest = path.join(dir, 'tampered');
    assert.throws(() => fetcher.fetchTflite({ dest, integrity: 'sha512-pinned' }), (e: Error) => {
      assert.match(e.message, /tfjs-tflite-node-0\.0\.2\.tgz has integrity sha512-Zed9biOz9lkWsekv.* not the pinned sha512-pinned/);
      return true;
    });
    assert.equal(existsSync(dest), false);
    assert.throws(() => fetcher.fetchTflite({ dest, platform: 'darwin', arch: 'arm64' }), /has no TensorFlow Lite C library for darwin-arm64/);
  });

  it('a failed fetch warns, saying what still works and how to retry, and does not fail the install', () => {
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (line: string) => void warnings.push(line);
    try {
      fetcher.installTflite({ dest: path.join(dir, 'failed'), integrity: 'sha512-pinned' });
    } finally {
      console.warn = warn;
    }
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /^coral-pipe: no TensorFlow Lite C library was installed \(.*not the pinned sha512-pinned\)\. The CPU engine \(LiteRT\.js\) works; .*node native\/fetch-tflite\.mjs.*CORAL_PIPE_LIBTFLITE_C/s);
  });

  it('the package ships neither the built addon nor the fetched library: each machine makes its own', () => {
    const packed = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: path.dirname(nativeRoot()), encoding: 'utf8' })) as { files: { path: string }[] }[];
    const native = packed[0]!.files.map((f) => f.path).filter((f) => f.startsWith('native/'));
    assert.ok(native.includes('native/fetch-tflite.mjs') && native.includes('native/src/edgetpu_addon.cc'), native.join(' '));
    assert.deepEqual(native.filter((f) => f.startsWith('native/build/') || f.startsWith('native/tflite/')), []);
  });
});
