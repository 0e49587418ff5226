/**
 * The glibc floor: no ELF file an install loads (the addons, the TFLite C library, sharp's and libvips'
 * libraries, usb's binding) asks for a GLIBC, GLIBCXX or CXXABI version newer than the oldest system of
 * its architecture coral-pipe supports (FLOORS). Versions are read with binutils' readelf.
 * CORAL_PIPE_FLOOR_ROOT checks another install than this checkout (CI's arm64 one).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { nativeRoot } from '../../src/native/addon.js';

/**
 * arm64: a Coral Dev Board's Mendel Linux 5, Debian 10: glibc 2.28, GCC 8's libstdc++.
 * x64: Debian 11 and Ubuntu 20.04: glibc 2.31, GCC 10's libstdc++ (the x64 TFLite library needs 2.29,
 * so Debian 10 on x64 is below it).
 */
const FLOORS: Record<number, { arch: string; floor: Record<string, string> }> = {
  183: { arch: 'arm64', floor: { GLIBC: '2.28', GLIBCXX: '3.4.25', CXXABI: '1.3.11' } },
  62: { arch: 'x64', floor: { GLIBC: '2.31', GLIBCXX: '3.4.28', CXXABI: '1.3.12' } },
};

const root = process.env.CORAL_PIPE_FLOOR_ROOT ?? path.dirname(nativeRoot());

/** Shared libraries and addons below `dir`: `*.node`, `*.so`, `*.so.N...`. */
function sharedObjects(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(node|so)(\.\d+)*$/.test(e.name))
    .map((e) => path.join(e.parentPath, e.name));
}

/** The ELF machine of `file` (62 x86-64, 183 AArch64), or undefined when it is not ELF. */
function elfMachine(file: string): number | undefined {
  const head = readFileSync(file).subarray(0, 20);
  return head.length === 20 && head.readUInt32BE(0) === 0x7f454c46 ? head.readUInt16LE(18) : undefined;
}

/** The symbol versions `file` needs, e.g. GLIBC_2.29, from its .gnu.version_r section. */
function neededVersions(file: string): string[] {
  const out = execFileSync('readelf', ['--version-info', '--wide', file], { encoding: 'utf8' });
  const needs = out.slice(Math.max(0, out.indexOf("Version needs section '.gnu.version_r'")));
  return [...new Set([...needs.matchAll(/Name: ((?:GLIBC|GLIBCXX|CXXABI)_[\d.]+)/g)].map((m) => m[1]!))];
}

/** -1, 0 or 1 as dotted version `a` is below, at or above `b`. */
function compareVersions(a: string, b: string): number {
  const [x, y] = [a.split('.').map(Number), b.split('.').map(Number)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

describe(`glibc floor of the install at ${root}`, () => {
  const files = [
    ...sharedObjects(path.join(root, 'native/build/Release')).filter((f) => !f.includes(`${path.sep}obj.target${path.sep}`)),
    ...sharedObjects(path.join(root, 'native/tflite/lib')),
    ...sharedObjects(path.join(root, 'node_modules')),
  ].filter((f) => elfMachine(f) !== undefined);
  const machines = new Set(files.map(elfMachine));

  it('finds the libraries an install loads', () => {
    for (const wanted of [/coral_edgetpu\.node$/, /coral_memory\.node$/, /libtensorflowlite_c\.so$/, /sharp-linux-[^/]+\.node$/, /libvips-cpp\.so/, /usb[^/]*\.node$/]) {
      assert.ok(files.some((f) => wanted.test(f)), `no file like ${wanted} under ${root}`);
    }
  });

  for (const machine of machines) {
    const known = FLOORS[machine!];
    it(`every ${known?.arch ?? `machine ${machine}`} library needs no more than ${known ? JSON.stringify(known.floor) : 'a known floor'}`, () => {
      assert.ok(known, `ELF machine ${machine} has no floor: ${files.filter((f) => elfMachine(f) === machine).join(', ')}`);
      const over: string[] = [];
      for (const file of files.filter((f) => elfMachine(f) === machine)) {
        for (const version of neededVersions(file)) {
          const [name, number] = version.split('_') as [string, string];
          if (compareVersions(number, known.floor[name]!) > 0) over.push(`${path.relative(root, file)} needs ${version}`);
        }
      }
      assert.deepEqual(over, []);
    });
  }
});
