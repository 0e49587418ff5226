/**
 * Config text -> validated config, with every problem located at its line: YAML (and JSON, which the
 * YAML parser reads too, so both get line numbers) is parsed to a document whose nodes keep their
 * source offsets, and each zod issue's path is walked through that document to find its line.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type ConfigProblem } from './config-error.js';
import { configSchema, type ParsedConfig } from './config-schema.js';

type Path = readonly PropertyKey[];

/** `cameras.front.topics[0]`; keys that are not plain words are quoted. */
export function formatPath(path: Path): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(String(key))) out += out === '' ? String(key) : `.${String(key)}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

/** The deepest node of `doc` along `path` (the key itself when `onKey`), and how far the path got. */
function locate(doc: Document, path: Path, onKey = false): Node | undefined {
  let node: unknown = doc.contents;
  let found = node as Node | undefined;
  for (const [depth, key] of path.entries()) {
    let next: unknown;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(key));
      if (pair === undefined) break;
      const last = depth === path.length - 1;
      // A key written with no value (`mqtt:`) has a null value node; point at the key then.
      next = last && onKey ? pair.key : (pair.value ?? pair.key);
    } else if (isSeq(node) && typeof key === 'number') {
      next = node.items[key];
    }
    if (next === undefined || next === null) break;
    node = next;
    found = next as Node;
  }
  return found;
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** A zod issue as the one-line, user-facing problems it stands for, with paths relative to the document. */
function explain(issue: z.core.$ZodIssue, base: Path): { path: Path; message: string; onKey?: boolean }[] {
  const path = [...base, ...issue.path];
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({ path: [...path, key], message: `unknown key "${key}"`, onKey: true }));
    case 'invalid_type':
      if (issue.input === undefined) return [{ path, message: `required: expected ${issue.expected}` }];
      return [{ path, message: `expected ${issue.expected}, got ${describeValue(issue.input)}` }];
    case 'invalid_key':
      return issue.issues.flatMap((inner) => explain(inner, path).map((p) => ({ ...p, onKey: true })));
    case 'invalid_union': {
      // Report the branch written for the value's kind (the mapping form for a mapping...), not all of them.
      const fits = issue.errors.filter((branch) => !branch.some((i) => i.code === 'invalid_type' && i.path.length === 0));
      if (fits.length === 1) return fits[0]!.flatMap((inner) => explain(inner, path));
      const kinds = issue.errors.flatMap((b) => b.filter((i) => i.code === 'invalid_type').map((i) => i.expected));
      const input = (issue as { input?: unknown }).input;
      return [{ path, message: `expected ${[...new Set(kinds)].join(' or ') || 'another form'}, got ${describeValue(input)}` }];
    }
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      const word = issue.code === 'too_small' ? (issue.inclusive ? 'at least' : 'more than') : issue.inclusive ? 'at most' : 'less than';
      const unit = issue.origin === 'array' ? ' item(s)' : issue.origin === 'string' ? ' character(s)' : '';
      const what = issue.origin === 'number' || issue.origin === 'int' ? 'must be' : 'must have';
      return [{ path, message: `${what} ${word} ${String(bound)}${unit}, got ${describeValue(issue.input)}` }];
    }
    default:
      return [{ path, message: issue.message }];
  }
}

/**
 * Parses and validates config text; `file` is only used in messages. Throws ConfigError listing every
 * problem (syntax errors first, then schema problems), each with its line and field path.
 */
export function parseConfigText(text: string, file: string): ParsedConfig {
  const lineCounter = new LineCounter();
  // Without known tags, `!!binary` stays the string it is written as instead of becoming a Buffer.
  // logLevel 'error': problems reach the user as ConfigError lines, not as Node warnings on stderr.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, resolveKnownTags: false, logLevel: 'error' });
  const at = (offset: number | undefined) => position(lineCounter, offset);
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => ({ file, ...at(e.pos[0]), path: '', message: e.message.split('\n')[0]! })),
    );
  }
  let value: unknown;
  try {
    value = doc.toJS();
  } catch (err) {
    // An alias without its anchor, or too many aliases (a "billion laughs" file): point at the first alias.
    let offset: number | undefined;
    visit(doc, { Alias: (_, node) => ((offset = node.range?.[0]), visit.BREAK) });
    throw new ConfigError([{ file, ...at(offset), path: '', message: (err as Error).message }]);
  }
  const result = configSchema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const problems: ConfigProblem[] = result.error.issues.flatMap((issue) =>
    explain(issue, []).map(({ path, message, onKey }) => ({
      file,
      ...at(locate(doc, path, onKey)?.range?.[0]),
      path: formatPath(path),
      message,
    })),
  );
  problems.sort((a, b) => a.line - b.line || a.column - b.column);
  throw new ConfigError(problems);
}

/** The line of a field in config text, for problems found after validation (a missing file, say). */
export function lineOf(text: string, path: Path): { line: number; column: number } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  return position(lineCounter, locate(doc, path)?.range?.[0]);
}

function position(lineCounter: LineCounter, offset: number | undefined): { line: number; column: number } {
  if (offset === undefined) return { line: 0, column: 0 };
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}
