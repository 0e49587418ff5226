/**
 * Loads the project's own node-gyp addons from native/build/Release. They are built by the package's
 * install script, which lets the install succeed without a compiler: then this says so plainly.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type NativeAddonName = 'coral_edgetpu' | 'coral_sd_notify' | 'coral_memory';

export class NativeAddonUnavailableError extends Error {
  constructor(readonly addon: NativeAddonName, readonly file: string, options?: { cause?: unknown }) {
    super(
      `the native addon ${addon} is not built (looked for ${file}); install a C++ compiler, make and ` +
        'python3, then run `node native/install.mjs` in the coral-pipe folder. The CPU engine works without it.',
      options,
    );
    this.name = 'NativeAddonUnavailableError';
  }
}

/** The package's native/ folder, from src/devices (or dist/src/devices once built). */
export function nativeRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return path.resolve(here, here.includes(`${path.sep}dist${path.sep}`) ? '../../..' : '../..', 'native');
}

/** native/build/Release; CORAL_PIPE_NATIVE_DIR overrides. */
export function nativeBuildDir(): string {
  if (process.env.CORAL_PIPE_NATIVE_DIR) return path.resolve(process.env.CORAL_PIPE_NATIVE_DIR);
  return path.join(nativeRoot(), 'build', 'Release');
}

const require = createRequire(import.meta.url);

export function loadNativeAddon<T>(addon: NativeAddonName): T {
  const file = path.join(nativeBuildDir(), `${addon}.node`);
  if (!existsSync(file)) throw new NativeAddonUnavailableError(addon, file);
  try {
    return require(file) as T;
  } catch (err) {
    throw new NativeAddonUnavailableError(addon, file, { cause: err });
  }
}
