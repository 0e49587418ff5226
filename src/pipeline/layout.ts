/**
 * A pipeline's layout: how many segments, how the model was cut, and how many replicas (devices) each
 * segment has; named in words (`whole model x 2`, `2 segments (latency) x [2, 1]`) that `coral-pipe
 * tune` prints and a daemon config's `model.layout` takes back.
 */

export type CutStrategy = 'params' | 'latency';

export interface Layout {
  /** How the model is cut; absent for the whole model, or for segment files cut elsewhere. */
  readonly strategy?: CutStrategy;
  /** Executors (devices) per segment, in order; its length is the number of segments. */
  readonly replicas: readonly number[];
}

/** Devices a layout uses. */
export const devicesOf = (layout: Layout): number => layout.replicas.reduce((n, r) => n + r, 0);

/** The `devices` setting for `layout` over `ids`, in order: one id per segment, or a list of replicas. */
export function devicesSetting(layout: Layout, ids: readonly string[]): (string | string[])[] {
  if (ids.length < devicesOf(layout)) throw new RangeError(`the layout needs more devices than the ${ids.length} given`);
  let next = 0;
  return layout.replicas.map((r) => {
    const mine = ids.slice(next, next + r);
    next += r;
    return r === 1 ? mine[0]! : mine;
  });
}

export function describeLayout(layout: Layout): string {
  const n = layout.replicas.length;
  const copies = layout.replicas.every((r) => r === 1) ? '' : n === 1 ? ` x ${layout.replicas[0]}` : ` x [${layout.replicas.join(', ')}]`;
  return n === 1 ? `whole model${copies}` : `${n} segments${layout.strategy ? ` (${layout.strategy})` : ''}${copies}`;
}

export class LayoutSyntaxError extends Error {
  override name = 'LayoutSyntaxError';
}

const WHOLE = /^whole model(?:\s+x\s+(\d+))?$/;
const SEGMENTS = /^(\d+)\s+segments(?:\s+\((params|latency)\))?(?:\s+x\s+\[([\d,\s]+)\])?$/;

/** A layout from the words describeLayout writes; LayoutSyntaxError saying what was expected. */
export function parseLayout(text: string): Layout {
  const words = text.trim().replace(/\s+/g, ' ');
  const whole = WHOLE.exec(words);
  if (whole) {
    const copies = whole[1] === undefined ? 1 : Number(whole[1]);
    if (copies < 1) throw new LayoutSyntaxError(`"${text}": a whole model needs at least 1 replica`);
    return { replicas: [copies] };
  }
  const cut = SEGMENTS.exec(words);
  if (!cut) {
    throw new LayoutSyntaxError(`"${text}" is not a layout; write it as coral-pipe tune prints it, e.g. "whole model x 2", "3 segments (params)" or "2 segments (latency) x [2, 1]"`);
  }
  const count = Number(cut[1]);
  if (count < 2) throw new LayoutSyntaxError(`"${text}": one segment is the "whole model"`);
  const replicas = cut[3] === undefined ? Array<number>(count).fill(1) : cut[3].split(',').map((r) => Number(r.trim()));
  if (replicas.length !== count || replicas.some((r) => !Number.isInteger(r) || r < 1)) {
    throw new LayoutSyntaxError(`"${text}": give ${count} replica counts of at least 1, one per segment`);
  }
  return { ...(cut[2] !== undefined && { strategy: cut[2] as CutStrategy }), replicas };
}
