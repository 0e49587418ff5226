/**
 * Runs Coral's `edgetpu_compiler` on each CPU segment file and names the results the way the
 * compiler's own `--num_segments` does: `<stem>_segment_<i>_of_<N>_edgetpu.tflite`. Each segment is
 * compiled alone (not co-compiled), since each runs on its own Edge TPU. Tested here only with the
 * stand-in compiler script in test/fakes/, not the real compiler.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import path from 'node:path';

export interface CompileOptions {
  /** Where compiled segments go; the first segment's folder by default. */
  readonly outDir?: string;
  /** The `<stem>` of the output names; by default taken from `<stem>_segment_<i>_of_<N>.tflite` input names, else the first file's name. */
  readonly stem?: string;
  /** The compiler command; `edgetpu_compiler` (looked up on PATH) by default. */
  readonly compiler?: string;
  /** More compiler options, e.g. `['--min_runtime_version', '13']`. */
  readonly extraArgs?: readonly string[];
}

export interface CompiledSegment {
  readonly index: number;
  readonly source: string;
  readonly output: string;
  /** The compiler's `On-chip memory ...` and `Off-chip memory ...` lines, verbatim. */
  readonly memoryLines: string[];
  /** Bytes of parameters cached on chip / streamed from the host, parsed from those lines where present. */
  readonly onChipBytes?: number;
  readonly offChipBytes?: number;
  /** Everything the compiler printed. */
  readonly log: string;
}

export class CompilerNotFoundError extends Error {
  constructor(readonly command: string) {
    super(
      `${command} was not found on PATH (${process.env.PATH ?? ''}); install Coral's edgetpu-compiler ` +
        'package (x86-64 Debian/Ubuntu) or compile the segments elsewhere',
    );
    this.name = 'CompilerNotFoundError';
  }
}

export class CompileError extends Error {
  constructor(message: string, readonly source: string, readonly log: string) {
    super(message);
    this.name = 'CompileError';
  }
}

const SEGMENT_NAME = /^(.*)_segment_(\d+)_of_(\d+)\.tflite$/;

export function compiledSegmentName(stem: string, index: number, count: number): string {
  return `${stem}_segment_${index}_of_${count}_edgetpu.tflite`;
}

const UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, KB: 1e3, MB: 1e6, GB: 1e9 };

/** `3.42MiB` -> bytes; undefined for anything else. */
export function parseByteSize(text: string): number | undefined {
  const match = /^([\d.]+)\s*([KMG]i?B|B)$/.exec(text.trim());
  const unit = match ? UNITS[match[2]!] : undefined;
  return match && unit !== undefined ? Math.round(Number(match[1]) * unit) : undefined;
}

/** The memory report of one compiler run. */
export function parseCompilerMemory(log: string): Pick<CompiledSegment, 'memoryLines' | 'onChipBytes' | 'offChipBytes'> {
  const memoryLines = log.split('\n').map((l) => l.trim()).filter((l) => /^(On|Off)-chip memory/.test(l));
  const value = (prefix: RegExp) => {
    const line = memoryLines.find((l) => prefix.test(l));
    return line === undefined ? undefined : parseByteSize(line.slice(line.lastIndexOf(':') + 1));
  };
  const onChipBytes = value(/^On-chip memory used for caching/);
  const offChipBytes = value(/^Off-chip memory used for streaming/);
  return {
    memoryLines,
    ...(onChipBytes !== undefined ? { onChipBytes } : {}),
    ...(offChipBytes !== undefined ? { offChipBytes } : {}),
  };
}

function run(command: string, args: string[]): Promise<{ code: number | null; log: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
    child.on('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT' ? new CompilerNotFoundError(command) : err));
    child.on('close', (code) => resolve({ code, log }));
  });
}

/** Compiles `files` (segment 0 first) one by one; rejects at the first failure, naming the file. */
export async function compileSegments(files: readonly string[], options: CompileOptions = {}): Promise<CompiledSegment[]> {
  if (files.length === 0) throw new CompileError('no segment files to compile', '', '');
  const compiler = options.compiler ?? 'edgetpu_compiler';
  const first = path.basename(files[0]!);
  const stem = options.stem ?? SEGMENT_NAME.exec(first)?.[1] ?? first.replace(/\.tflite$/, '');
  const outDir = path.resolve(options.outDir ?? path.dirname(files[0]!));
  await mkdir(outDir, { recursive: true });
  const results: CompiledSegment[] = [];
  for (const [index, source] of files.entries()) {
    // The compiler names its output after its input: let it write into a scratch folder, then rename.
    const scratch = await mkdtemp(path.join(outDir, '.coral-pipe-compile-'));
    try {
      const { code, log } = await run(compiler, [...(options.extraArgs ?? []), '-o', scratch, path.resolve(source)]);
      const produced = path.join(scratch, `${path.basename(source).replace(/\.tflite$/, '')}_edgetpu.tflite`);
      if (code !== 0) throw new CompileError(`${compiler} failed on ${source} (exit ${code}): ${log.trim().split('\n').slice(-3).join(' | ')}`, source, log);
      const output = path.join(outDir, compiledSegmentName(stem, index, files.length));
      try {
        await rename(produced, output);
      } catch {
        throw new CompileError(`${compiler} reported success on ${source} but wrote no ${path.basename(produced)}`, source, log);
      }
      results.push({ index, source, output, ...parseCompilerMemory(log), log });
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }
  return results;
}
