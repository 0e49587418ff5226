/**
 * The folders the systemd unit's sandboxing hides from the service (systemd/coral-pipe.service; a test
 * keeps the two in step). A file there passes `check-config` run by hand and is "no such file" to the
 * daemon under systemd, so check-config warns about it and the daemon's error says why.
 */
import { realpath } from 'node:fs/promises';
import path from 'node:path';

const PRIVATE_TMP = 'PrivateTmp=yes gives the service an empty /tmp and /var/tmp of its own';
const PROTECT_HOME = 'ProtectHome=yes hides /home, /root and /run/user from the service';

export const UNIT_HIDDEN_DIRS: Readonly<Record<string, string>> = {
  '/tmp': PRIVATE_TMP,
  '/var/tmp': PRIVATE_TMP,
  '/home': PROTECT_HOME,
  '/root': PROTECT_HOME,
  '/run/user': PROTECT_HOME,
};

/** Why the unit hides absolute path `file` from the service, or undefined when it does not. */
export function unitHides(file: string): string | undefined {
  for (const [dir, why] of Object.entries(UNIT_HIDDEN_DIRS)) if (file === dir || file.startsWith(`${dir}/`)) return why;
  return undefined;
}

/** For a "no such file" error inside the unit ($INVOCATION_ID is set by systemd): why, or ''. */
export function unitHidesNote(file: string, env: NodeJS.ProcessEnv = process.env): string {
  const why = env.INVOCATION_ID === undefined ? undefined : unitHides(file);
  return why === undefined ? '' : ` (the coral-pipe unit's ${why}; keep the files it needs under /etc/coral-pipe)`;
}

export interface HiddenFile {
  /** The config field that names it, e.g. `model.labels`. */
  readonly field: string;
  readonly file: string;
  readonly why: string;
}

/**
 * Of the files a config names (`[field, path]`, relative to the config's folder), those the unit would
 * hide from the daemon, symbolic links followed. None for a config the unit cannot see itself (a draft in
 * /tmp or a home folder): that one is not what the service runs, and the files beside it are as
 * visible as it is.
 */
export async function filesHiddenFromUnit(configFile: string, named: readonly (readonly [string, string])[]): Promise<HiddenFile[]> {
  if (unitHides(await realpath(configFile).catch(() => configFile)) !== undefined) return [];
  const dir = path.dirname(configFile);
  const hidden: HiddenFile[] = [];
  for (const [field, name] of named) {
    const file = path.resolve(dir, name);
    const real = await realpath(file).catch(() => file);
    const why = unitHides(file) ?? unitHides(real);
    if (why !== undefined) hidden.push({ field, file: real === file ? file : `${file} (-> ${real})`, why });
  }
  return hidden;
}
