/**
 * Writes a layout tune chose into a daemon config file: `model.segments`, `model.strategy` and
 * `devices` (per segment a device, or a list of replicas). Only those values change: the yaml
 * package finds where they are written, and every other byte of the file, comments and alignment
 * included, stays as the user wrote it; a running daemon picks the edit up as a reload.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { isMap, isScalar, parseDocument, type Node } from 'yaml';
import type { Layout } from './layouts.js';

/** The `devices` setting for `layout` over `ids`, in order: one id per segment, or a list of replicas. */
export function devicesSetting(layout: Layout, ids: readonly string[]): (string | string[])[] {
  if (ids.length < layout.replicas.reduce((n, r) => n + r, 0)) throw new RangeError(`the layout needs more devices than the ${ids.length} given`);
  let next = 0;
  return layout.replicas.map((r) => {
    const mine = ids.slice(next, next + r);
    next += r;
    return r === 1 ? mine[0]! : mine;
  });
}

const flow = (setting: readonly (string | readonly string[])[]) =>
  `[${setting.map((d) => (typeof d === 'string' ? d : `[${d.join(', ')}]`)).join(', ')}]`;

interface Edit {
  readonly at: number;
  readonly end: number;
  readonly text: string;
}

/** The file's text with `layout` written in; throws naming the file when it is not YAML or has no model. */
export function withLayout(text: string, file: string, layout: Layout, ids: readonly string[]): string {
  const doc = parseDocument(text, { keepSourceTokens: true });
  if (doc.errors.length > 0) throw new Error(`${file} is not valid YAML: ${doc.errors[0]!.message}`);
  if (!isMap(doc.contents)) throw new Error(`${file}: the config is not a mapping of fields`);
  const edits: Edit[] = [];
  const replace = (node: Node, value: string) => edits.push({ at: node.range![0], end: node.range![1], text: value });
  const model = doc.get('model', true) as Node | undefined;
  const segments = String(layout.replicas.length);
  if (model === undefined) throw new Error(`${file} has no model field to write the layout into`);
  if (isScalar(model)) {
    // `model: some.tflite` is short for `model: {file: some.tflite}`: the long form takes the layout.
    const strategy = layout.strategy === undefined ? '' : `, strategy: ${layout.strategy}`;
    replace(model, `{file: ${JSON.stringify(String(model.value))}, segments: ${segments}${strategy}}`);
  } else if (isMap(model)) {
    const segmentsNode = model.get('segments', true) as Node | undefined;
    const strategyNode = model.get('strategy', true) as Node | undefined;
    const first = model.items[0];
    const indent = first && first.key ? ' '.repeat(lineColumn(text, (first.key as Node).range![0])) : '  ';
    const lineEnd = (node: Node) => text.indexOf('\n', node.range![1]) + 1 || text.length;
    const anchor = (model.items.at(-1)?.value as Node | undefined) ?? model;
    const added: string[] = [];
    if (segmentsNode) replace(segmentsNode, segments);
    else added.push(`${indent}segments: ${segments}\n`);
    if (layout.strategy !== undefined) {
      if (strategyNode) replace(strategyNode, layout.strategy);
      else added.push(`${indent}strategy: ${layout.strategy}\n`);
    }
    if (added.length > 0) edits.push({ at: lineEnd(anchor), end: lineEnd(anchor), text: added.join('') });
  }
  const devices = doc.get('devices', true) as Node | undefined;
  const setting = flow(devicesSetting(layout, ids));
  if (devices) replace(devices, setting);
  else edits.push({ at: text.length, end: text.length, text: `${text.endsWith('\n') ? '' : '\n'}devices: ${setting}\n` });
  // From the end, so that earlier offsets stay right.
  return edits.sort((a, b) => b.at - a.at).reduce((t, e) => t.slice(0, e.at) + e.text + t.slice(e.end), text);
}

/** The column of offset `at` in `text`. */
function lineColumn(text: string, at: number): number {
  return at - (text.lastIndexOf('\n', at - 1) + 1);
}

export async function writeLayout(configFile: string, layout: Layout, ids: readonly string[]): Promise<void> {
  await writeFile(configFile, withLayout(await readFile(configFile, 'utf8'), configFile, layout, ids));
}
