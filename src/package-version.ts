/** This package's version from its package.json, for what the daemon tells others about itself. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined | null = null;

/**
 * The `version` of the coral-pipe package.json above this file (src/ or dist/src/, so the depth
 * differs); undefined when none is found, e.g. in a bundle that left package.json behind.
 */
export function packageVersion(): string | undefined {
  if (cached !== null) return cached;
  cached = undefined;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'coral-pipe' && typeof pkg.version === 'string') return (cached = pkg.version);
    } catch {
      // No (readable) package.json here: keep looking further up.
    }
    const up = path.dirname(dir);
    if (up === dir) return cached;
    dir = up;
  }
}
