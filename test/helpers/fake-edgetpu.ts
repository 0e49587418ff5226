/**
 * Builds the stand-in libedgetpu and libtensorflowlite_c from test/fakes/*.c (once per test process)
 * and writes fake models in the text format fake_tflite_c.c reads.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
/** test/fakes in the source tree, from test/helpers or dist/test/helpers. */
export const fakesDir = path.resolve(here, here.includes(`${path.sep}dist${path.sep}`) ? '../../../test/fakes' : '../fakes');
/** The addon's own declarations of the C APIs, which the stand-ins implement. */
export const nativeSources = path.resolve(fakesDir, '../../native/src');

export interface FakeLibraries {
  readonly dir: string;
  readonly edgetpu: string;
  readonly tflite: string;
}

let built: FakeLibraries | undefined;

export function buildFakeLibraries(): FakeLibraries {
  if (built) return built;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'coral-pipe-fakes-'));
  const edgetpu = path.join(dir, 'libedgetpu.so.1');
  const tflite = path.join(dir, 'libtensorflowlite_c.so');
  const cc = (out: string, src: string) =>
    execFileSync('cc', ['-shared', '-fPIC', '-O1', '-pthread', '-I', nativeSources, '-o', out, path.join(fakesDir, src)], { stdio: 'pipe' });
  cc(edgetpu, 'fake_edgetpu.c');
  cc(tflite, 'fake_tflite_c.c');
  built = { dir, edgetpu, tflite };
  return built;
}

export interface FakeTensor {
  readonly name: string;
  readonly type: 'uint8' | 'int8' | 'int32' | 'float32';
  readonly shape: readonly number[];
  readonly quant?: { scale: number; zeroPoint: number };
}

export interface FakeModel {
  readonly inputs: readonly FakeTensor[];
  readonly outputs: readonly FakeTensor[];
  readonly requiresEdgeTpu?: boolean;
  readonly failInvokeIfFirstByte?: number;
  readonly failAllocate?: boolean;
  /** A uint8 output that reads 1 when invoke ran on a thread other than the creating one. */
  readonly threadProbe?: string;
  /** Invoke sleeps this long first (holding its thread, not the CPU), as an accelerator call does. */
  readonly invokeDelayUs?: number;
  /** Invoke, once started, waits (at most 10 s) until the invoke log holds this line. */
  readonly invokeAwait?: string;
}

export function fakeModel(model: FakeModel): Uint8Array {
  const lines = ['FAKETFLITE'];
  const tensor = (kind: string, t: FakeTensor) => {
    lines.push(`${kind} ${t.name} ${t.type} ${t.shape.join('x')}`);
    if (t.quant) lines.push(`quant ${t.name} ${t.quant.scale} ${t.quant.zeroPoint}`);
  };
  model.inputs.forEach((t) => tensor('input', t));
  model.outputs.forEach((t) => tensor('output', t));
  if (model.requiresEdgeTpu) lines.push('requires-edgetpu');
  if (model.failAllocate) lines.push('fail-allocate');
  if (model.failInvokeIfFirstByte !== undefined) lines.push(`fail-invoke-if-first-byte ${model.failInvokeIfFirstByte}`);
  if (model.threadProbe) lines.push(`thread-probe ${model.threadProbe}`);
  if (model.invokeDelayUs !== undefined) lines.push(`invoke-delay-us ${Math.round(model.invokeDelayUs)}`);
  if (model.invokeAwait !== undefined) lines.push(`invoke-await ${model.invokeAwait}`);
  return new TextEncoder().encode(`${lines.join('\n')}\n`);
}
