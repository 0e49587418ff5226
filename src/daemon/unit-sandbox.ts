/**
 * The folders the systemd unit's sandboxing hides from the service (systemd/coral-pipe.service; a test
 * keeps the two in step). A file there passes `check-config` run by hand and is "no such file" to the
 * daemon under systemd, so check-config warns about it and the daemon's error says why.
 */
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import type { DaemonConfig } from './config-load.js';

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
 * Every file the config names that the unit would hide from the daemon, symbolic links followed. None
 * for a config the unit cannot see itself (a draft in /tmp or a home folder): that one is not what
 * the service runs, and the files beside it are as visible as it is.
 */
export async function filesHiddenFromUnit(config: DaemonConfig): Promise<HiddenFile[]> {
  const dir = path.dirname(config.file);
  if (unitHides(await realpath(config.file).catch(() => config.file)) !== undefined) return [];
  const { model, mqtt } = config;
  const named: [string, string | undefined][] = [
    ['model.file', model.file],
    ...(model.segmentFiles ?? []).map((f, i): [string, string] => [`model.segmentFiles[${i}]`, f]),
    ['model.labels', model.labels],
    ['mqtt.passwordFile', mqtt.passwordFile],
    ['mqtt.tls.ca', mqtt.tls?.ca],
    ['mqtt.tls.cert', mqtt.tls?.cert],
    ['mqtt.tls.key', mqtt.tls?.key],
  ];
  const hidden: HiddenFile[] = [];
  for (const [field, name] of named) {
    if (name === undefined) continue;
    const file = path.resolve(dir, name);
    const real = await realpath(file).catch(() => file);
    const why = unitHides(file) ?? unitHides(real);
    if (why !== undefined) hidden.push({ field, file: real === file ? file : `${file} (-> ${real})`, why });
  }
  return hidden;
}
