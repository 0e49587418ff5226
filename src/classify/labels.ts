/**
 * Label files of classification and detection models: one label per line, index = line number, or
 * lines of the form `N label` / `N: label` that give the index themselves (both as pycoral reads
 * them; a file may mix the two). Blank lines hold no label but still count.
 */
import { readFile } from 'node:fs/promises';

export type Labels = ReadonlyMap<number, string>;

export class LabelsError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LabelsError';
  }
}

const NUMBERED = /^(\d+)[:\s]+(.*)$/;

/** Parses a label file's text; `source` names it in errors. */
export function parseLabels(text: string, source = 'labels'): Labels {
  const labels = new Map<number, string>();
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, lineIndex) => {
    const line = raw.trim();
    if (line === '') return;
    const numbered = NUMBERED.exec(line);
    const index = numbered ? Number(numbered[1]) : lineIndex;
    const label = numbered ? numbered[2]!.trim() : line;
    if (labels.has(index)) {
      throw new LabelsError(`${source}:${lineIndex + 1}: index ${index} was already given the label "${labels.get(index)}"`);
    }
    labels.set(index, label);
  });
  return labels;
}

export async function readLabels(file: string): Promise<Labels> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new LabelsError(`cannot read labels file ${file}: ${(err as Error).message}`, { cause: err });
  }
  return parseLabels(text, file);
}
