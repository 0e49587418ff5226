/**
 * Whether a labels file fits a classifier's output, so that results never go out under another class's
 * name. A file's size is its highest index + 1 (for a plain file the line number of its last label,
 * for a numbered one its highest number + 1; gaps count as unlabelled classes). It fits an output of
 * N classes when it has N labels, or by one rule, said in `note`, when it is one off:
 * - N - 1 labels: the model's output 0 is a background class the file leaves out (1000 ImageNet labels
 *   on a 1001-output mobilenet): output 0 is "background", output i gets the file's label i - 1;
 * - N + 1 labels whose first is "background": the model does not produce it (imagenet_labels.txt on a
 *   1000-output model): output i gets the file's label i + 1.
 * Anything else is refused.
 */
import { LabelsError, type Labels } from './labels.js';

export interface FittedLabels {
  /** Label by output index. */
  readonly labels: Labels;
  /** How the file was read when not one label per output, for one log line or note. */
  readonly note?: string;
}

const BACKGROUND = 'background';

/** Highest index + 1; 0 for a file without labels. */
export function labelCount(labels: Labels): number {
  return labels.size === 0 ? 0 : Math.max(...labels.keys()) + 1;
}

/** Every label moved by `by` indices (negative: dropped from the front). */
function shifted(labels: Labels, by: number): Map<number, string> {
  return new Map([...labels].filter(([i]) => i + by >= 0).map(([i, label]) => [i + by, label]));
}

/** `labels` (read from `source`) fitted to an output of `classes` classes; LabelsError when they do not fit. */
export function fitLabels(labels: Labels, classes: number, source: string): FittedLabels {
  const count = labelCount(labels);
  if (count === classes) return { labels };
  if (count === classes - 1) {
    return {
      labels: shifted(labels, 1).set(0, BACKGROUND),
      note: `${source} has ${count} labels for ${classes} outputs: read as leaving out the background class, output 0 is "${BACKGROUND}" and output i gets label i - 1`,
    };
  }
  if (count === classes + 1 && labels.get(0)?.toLowerCase() === BACKGROUND) {
    return {
      labels: shifted(labels, -1),
      note: `${source} has ${count} labels for ${classes} outputs: its first label "${labels.get(0)}" is not an output of the model, so output i gets label i + 1`,
    };
  }
  throw new LabelsError(
    `${source} has ${count} labels but the model's output has ${classes} classes: give ${classes} labels` +
      ` (or ${classes - 1} without the background class, or ${classes + 1} starting with "${BACKGROUND}")`,
  );
}
