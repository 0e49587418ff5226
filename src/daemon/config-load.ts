/**
 * Reads a config file and makes it ready to run: validated, relative paths resolved against the file's
 * folder, defaults that depend on the machine filled in, and the password and TLS files read, so that
 * `check-config` catches a missing file the same way it catches a typo.
 */
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { ConfigError, type ConfigProblem } from './config-error.js';
import { formatPath, lineOf, parseConfigText } from './config-parse.js';
import type { ParsedConfig } from './config-schema.js';

export interface ConfigSecrets {
  readonly password?: string;
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

export type DaemonConfig = Omit<ParsedConfig, 'node' | 'mqtt'> & {
  readonly node: string;
  readonly mqtt: ParsedConfig['mqtt'] & { readonly clientId: string };
  /** Read from mqtt.password / passwordFile / tls.*; kept apart so status and logs never show them. */
  readonly secrets: ConfigSecrets;
  /** Absolute path of the file this came from. */
  readonly file: string;
  /**
   * Where the fields checked only once the files they name are read (model-check.ts) are written, by
   * field path (`model.file`, `model.segmentFiles[1]`, `model.labels`, `devices`...), for their problems.
   */
  readonly places: Readonly<Record<string, ConfigPlace>>;
};

/** A problem's place: file, line, column and field path. */
export type ConfigPlace = Omit<ConfigProblem, 'message'>;

/** The host name as one topic level (a dotted FQDN is fine, spaces and wildcards are not). */
export function defaultNodeName(): string {
  return hostname().replace(/[^A-Za-z0-9_.-]+/g, '-') || 'coral-pipe';
}

/** Validates `text` as if read from `file` and finishes it; throws ConfigError listing every problem. */
export async function resolveConfig(text: string, file: string): Promise<DaemonConfig> {
  const parsed = parseConfigText(text, file);
  const dir = path.dirname(path.resolve(file));
  const problems: ConfigProblem[] = [];
  const abs = (p: string) => path.resolve(dir, p);

  /** Reads a file named at `field`, recording a located problem instead of throwing. */
  const read = async (field: readonly PropertyKey[], p: string): Promise<Buffer | undefined> => {
    try {
      return await readFile(abs(p));
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
      problems.push({ file, ...lineOf(text, field), path: formatPath(field), message: `cannot read ${abs(p)}: ${reason}` });
      return undefined;
    }
  };
  /** Only checks that a file is there and readable: models are read later, by the pipeline. */
  const exists = async (field: readonly PropertyKey[], p: string) => void (await read(field, p));

  const m = parsed.model;
  const model = {
    ...m,
    ...(m.file !== undefined && { file: abs(m.file) }),
    ...(m.segmentFiles !== undefined && { segmentFiles: m.segmentFiles.map(abs) }),
    ...(m.labels !== undefined && { labels: abs(m.labels) }),
  };
  if (m.file !== undefined) await exists(['model', 'file'], m.file);
  for (const [i, f] of (m.segmentFiles ?? []).entries()) await exists(['model', 'segmentFiles', i], f);
  if (m.labels !== undefined) await exists(['model', 'labels'], m.labels);

  const mq = parsed.mqtt;
  let password = mq.password;
  if (mq.passwordFile !== undefined) {
    const bytes = await read(['mqtt', 'passwordFile'], mq.passwordFile);
    if (bytes !== undefined) password = bytes.toString('utf8').split(/\r?\n/)[0];
  }
  const tlsFile = async (k: 'ca' | 'cert' | 'key') =>
    mq.tls?.[k] === undefined ? undefined : read(['mqtt', 'tls', k], mq.tls[k]);
  const [ca, cert, key] = [await tlsFile('ca'), await tlsFile('cert'), await tlsFile('key')];
  if ((mq.tls?.cert === undefined) !== (mq.tls?.key === undefined))
    problems.push({ file, ...lineOf(text, ['mqtt', 'tls']), path: 'mqtt.tls', message: 'cert and key go together: give both or neither' });

  if (problems.length > 0) throw new ConfigError(problems);
  const located: (readonly PropertyKey[])[] = [
    ['model', 'file'],
    ['model', 'segments'],
    ['model', 'segmentFiles'],
    ...(m.segmentFiles ?? []).map((_, i) => ['model', 'segmentFiles', i]),
    ['model', 'labels'],
    ['devices'],
  ];
  const node = parsed.node ?? defaultNodeName();
  return {
    ...parsed,
    node,
    mqtt: { ...mq, clientId: mq.clientId ?? `coral-pipe-${node}` },
    model,
    secrets: {
      ...(password !== undefined && { password }),
      ...(ca && { ca }),
      ...(cert && { cert }),
      ...(key && { key }),
    },
    file: path.resolve(file),
    places: Object.fromEntries(located.map((field) => [formatPath(field), { file, ...lineOf(text, field), path: formatPath(field) }])),
  };
}

/** Reads and validates a config file; throws ConfigError (unreadable file included). */
export async function loadConfig(file: string): Promise<DaemonConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ file, line: 0, column: 0, path: '', message: `cannot read config: ${(err as Error).message}` }]);
  }
  return resolveConfig(text, file);
}
