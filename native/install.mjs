// `npm install` hook: fetches the TensorFlow Lite C library (fetch-tflite.mjs), then builds the Edge TPU,
// sd_notify and memory addons with node-gyp. A machine without a compiler (or without node-gyp, or
// the registry) still installs: the CPU engine works, and the Edge TPU engine and systemd
// notification report plainly what is missing.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { installTflite } from './fetch-tflite.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** node-gyp's entry script: the project's own, else the copy npm ships (npm sets npm_config_node_gyp). */
function nodeGyp() {
  try {
    return require.resolve('node-gyp/bin/node-gyp.js');
  } catch {
    const bundled = process.env.npm_config_node_gyp;
    return bundled && existsSync(bundled) ? bundled : undefined;
  }
}

/** Headers of the running Node where a distribution installed them, so node-gyp need not download any. */
function nodeDir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return existsSync(path.join(prefix, 'include', 'node', 'common.gypi')) ? prefix : undefined;
}

installTflite();
const gyp = nodeGyp();
const dir = nodeDir();
const args = [gyp, 'rebuild', '--directory', here, ...(dir ? [`--nodedir=${dir}`] : [])];
const result = gyp ? spawnSync(process.execPath, args, { stdio: 'inherit' }) : undefined;
if (!result || result.status !== 0) {
  const why = !gyp ? 'node-gyp was not found' : result.error ? result.error.message : `node-gyp exited ${result.status}`;
  console.warn(
    `coral-pipe: the native addon (native/) was not built (${why}). The CPU engine works; the Edge TPU ` +
      'engine and systemd notification are unavailable until you install a C++ compiler, make and ' +
      'python3 and run `npm rebuild coral-pipe` (or `node native/install.mjs`).',
  );
}
