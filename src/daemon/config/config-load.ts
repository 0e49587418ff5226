/**
 * Reads a config file and makes it ready to run: validated, relative paths resolved against the file's
 * folder, defaults that depend on the machine filled in, and the password and TLS files read, so that
 * `check-config` catches a missing file the same way it catches a typo.
 */
import { open, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { ConfigError, type ConfigProblem } from './config-error.js';
import { formatPath, lineOf, parseConfigText } from './config-parse.js';
import type { ParsedConfig } from './config-schema.js';
import { unitHidesNote } from './unit-sandbox.js';

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
  /**
   * Size and modification time of the model, segment and labels files, so that a reload rebuilds the
   * pipeline when a file was replaced under the same name.
   */
  readonly modelStamp: string;
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

  const unreadable = (field: readonly PropertyKey[], p: string, err: unknown) => {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? `no such file${unitHidesNote(abs(p))}` : (err as Error).message;
    problems.push({ file, ...lineOf(text, field), path: formatPath(field), message: `cannot read ${abs(p)}: ${reason}` });
  };
  /** Reads a file named at `field`, recording a located problem instead of throwing. */
  const read = async (field: readonly PropertyKey[], p: string): Promise<Buffer | undefined> => {
    try {
      return await readFile(abs(p));
    } catch (err) {
      unreadable(field, p, err);
      return undefined;
    }
  };
  /** Only opens a file to see that it is readable (models are read later, by the pipeline); returns its stamp. */
  const stamp = async (field: readonly PropertyKey[], p: string): Promise<string> => {
    try {
      const handle = await open(abs(p), 'r');
      try {
        const st = await handle.stat();
        return `${st.size}@${st.mtimeMs}`;
      } finally {
        await handle.close();
      }
    } catch (err) {
      unreadable(field, p, err);
      return '';
    }
  };

  const m = parsed.model;
  const model = {
    ...m,
    ...(m.file !== undefined && { file: abs(m.file) }),
    ...(m.segmentFiles !== undefined && { segmentFiles: m.segmentFiles.map(abs) }),
    ...(m.labels !== undefined && { labels: abs(m.labels) }),
  };
  const stamps: string[] = [];
  if (m.file !== undefined) stamps.push(await stamp(['model', 'file'], m.file));
  for (const [i, f] of (m.segmentFiles ?? []).entries()) stamps.push(await stamp(['model', 'segmentFiles', i], f));
  if (m.labels !== undefined) stamps.push(await stamp(['model', 'labels'], m.labels));

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
    ['model', 'layout'],
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
    modelStamp: stamps.join(' '),
  };
}

/** Every file the config names, by field (`model.labels`, `mqtt.tls.ca`...), as written. */
export function filesNamedBy(config: DaemonConfig): [string, string][] {
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
  return named.filter((n): n is [string, string] => n[1] !== undefined);
}

/** A config file's text; throws ConfigError naming the file when it cannot be read. */
export async function readConfigText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ file, line: 0, column: 0, path: '', message: `cannot read config: ${(err as Error).message}` }]);
  }
}

/** Reads and validates a config file; throws ConfigError (unreadable file included). */
export async function loadConfig(file: string): Promise<DaemonConfig> {
  return resolveConfig(await readConfigText(file), file);
}
