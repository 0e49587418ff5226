/**
 * Segment file names: `<stem>_segment_<i>_of_<N>.tflite`, i from 0, as `edgetpu_compiler --num_segments`
 * names them (it adds `_edgetpu` after compiling), so people who know the compiler recognise them.
 */
import path from 'node:path';

export function segmentFileName(stem: string, index: number, count: number): string {
  return `${stem}_segment_${index}_of_${count}.tflite`;
}

/** The model's file name without folder and `.tflite`. */
export function modelStem(file: string): string {
  return path.basename(file).replace(/\.tflite$/i, '');
}

export interface SegmentFileName {
  readonly stem: string;
  readonly index: number;
  readonly count: number;
}

const PATTERN = /^(.*)_segment_(\d+)_of_(\d+)(?:_edgetpu)?\.tflite$/i;

/** What a segment file's name says about it, or undefined for a name not in the compiler's form. */
export function parseSegmentFileName(file: string): SegmentFileName | undefined {
  const match = PATTERN.exec(path.basename(file));
  if (!match) return undefined;
  return { stem: match[1]!, index: Number(match[2]), count: Number(match[3]) };
}
