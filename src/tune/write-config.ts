/**
 * Writes a layout tune chose into a daemon config file: `model.layout` in the words tune prints (in
 * place of `model.segments` and `model.strategy`) and `devices` (per segment a device, or a list of
 * replicas); for Edge TPU layouts, whose segments are compiled files, `model.segmentFiles` in place of
 * `model.file`. Only those change: the yaml package finds where they are written, and every other byte
 * of the file, comments and alignment included, stays as the user wrote it; a running daemon picks
 * the edit up as a reload.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { isMap, isScalar, parseDocument, type Document, type Node } from 'yaml';
import { describeLayout, devicesSetting, type Layout } from '../pipeline/layout.js';

/** A plain YAML scalar where that reads the same, else a quoted one. */
const scalar = (text: string) => (/^[\w/.:-]+$/.test(text) && !/^[-.:]/.test(text) ? text : JSON.stringify(text));
const flow = (setting: readonly (string | readonly string[])[]): string =>
  `[${setting.map((d) => (typeof d === 'string' ? scalar(d) : flow(d))).join(', ')}]`;

interface Edit {
  readonly at: number;
  readonly end: number;
  readonly text: string;
}

/** Fields of `model` a layout replaces: where the segments come from and how they are cut. */
const LAYOUT_FIELDS = ['file', 'segmentFiles', 'segments', 'strategy', 'layout'];

/**
 * The file's text with `layout` written in (`model.layout` in tune's words, and `devices`), its
 * segments `segmentFiles` when given (compiled ones) in place of `model.file`; throws naming the file
 * when it is not YAML or has no model.
 */
export function withLayout(text: string, file: string, layout: Layout, ids: readonly string[], segmentFiles?: readonly string[]): string {
  const doc = parseDocument(text, { keepSourceTokens: true });
  if (doc.errors.length > 0) throw new Error(`${file} is not valid YAML: ${doc.errors[0]!.message}`);
  if (!isMap(doc.contents)) throw new Error(`${file}: the config is not a mapping of fields`);
  const edits: Edit[] = [];
  const replace = (node: Node, value: string) => edits.push({ at: node.range![0], end: node.range![1], text: value });
  const model = doc.get('model', true) as Node | undefined;
  const words = JSON.stringify(describeLayout(layout));
  const files = segmentFiles && flow(segmentFiles);
  if (model === undefined) throw new Error(`${file} has no model field to write the layout into`);
  if (isMap(model) && !files && model.items.some((p) => isScalar(p.key) && p.key.value === 'segmentFiles')) {
    throw new Error(`${file}: model.segmentFiles names compiled segments; tune measured cuts of a whole model, which model.file names`);
  }
  if (isScalar(model) || (isMap(model) && model.flow)) {
    // `model: m.tflite` (short for `{file: m.tflite}`) or `{file: m.tflite, ...}` on one line: written
    // anew as a flow map, its other fields as they were.
    const others = isMap(model)
      ? model.items.filter((p) => !(isScalar(p.key) && LAYOUT_FIELDS.includes(String(p.key.value)))).map((p) => text.slice((p.key as Node).range![0], (p.value as Node).range![1]))
      : [];
    const whole = isScalar(model) ? String(model.value) : String((model.get('file') as string | undefined) ?? '');
    const source = files ? `segmentFiles: ${files}` : `file: ${scalar(whole)}`;
    replace(model, `{${[source, ...others, `layout: ${words}`].join(', ')}}`);
  } else if (isMap(model)) {
    const pair = (key: string) => model.items.find((p) => isScalar(p.key) && p.key.value === key);
    const lineEnd = (at: number) => text.indexOf('\n', at) + 1 || text.length;
    const removeLine = (p: NonNullable<ReturnType<typeof pair>>) => {
      const from = (p.key as Node).range![0];
      edits.push({ at: from - lineColumn(text, from), end: lineEnd((p.value as Node).range![1]), text: '' });
    };
    // Compiled segments take the place of the whole model.
    const whole = pair('file');
    if (files && whole) {
      replace(whole.key as Node, 'segmentFiles');
      replace(whole.value as Node, files);
    } else if (files) replace(pair('segmentFiles')!.value as Node, files);
    // The layout goes where it was, else where the segment count was, else after the last field.
    const at = pair('layout') ?? pair('segments');
    if (at) {
      replace(at.key as Node, 'layout');
      replace(at.value as Node, words);
    } else {
      const first = model.items[0]!;
      const indent = ' '.repeat(lineColumn(text, (first.key as Node).range![0]));
      const end = lineEnd((model.items.at(-1)!.value as Node).range![1]);
      edits.push({ at: end, end, text: `${indent}layout: ${words}\n` });
    }
    for (const key of ['segments', 'strategy']) {
      const p = pair(key);
      if (p && p !== at) removeLine(p);
    }
  }
  return apply(text, edits, doc, layout, ids);
}

/** The model's edits and the `devices` one made to `text`. */
function apply(text: string, edits: Edit[], doc: Document, layout: Layout, ids: readonly string[]): string {
  const devices = doc.get('devices', true) as Node | undefined;
  const setting = flow(devicesSetting(layout, ids));
  if (devices) edits.push({ at: devices.range![0], end: devices.range![1], text: setting });
  else edits.push({ at: text.length, end: text.length, text: `${text.endsWith('\n') ? '' : '\n'}devices: ${setting}\n` });
  // From the end, so that earlier offsets stay right.
  return edits.sort((a, b) => b.at - a.at).reduce((t, e) => t.slice(0, e.at) + e.text + t.slice(e.end), text);
}

/** The column of offset `at` in `text`. */
function lineColumn(text: string, at: number): number {
  return at - (text.lastIndexOf('\n', at - 1) + 1);
}

export async function writeLayout(configFile: string, layout: Layout, ids: readonly string[], segmentFiles?: readonly string[]): Promise<void> {
  await writeFile(configFile, withLayout(await readFile(configFile, 'utf8'), configFile, layout, ids, segmentFiles));
}
