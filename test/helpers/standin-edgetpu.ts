/**
 * The stand-in libedgetpu (test/fakes/standin_edgetpu.c), built once per test process against the real
 * TensorFlow Lite headers and run with the real TFLite C library that `npm install` fetched, and
 * Edge TPU models for it: real .tflite files whose graph is one `edgetpu-custom-op`, as
 * edgetpu_compiler writes when the whole graph maps to the Edge TPU.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DType } from '../../src/tensors/tensor.js';
import { nativeRoot } from '../../src/native/addon.js';
import { bundledTflitePath } from '../../src/devices/tflite-runtime.js';
import { BUILTIN_CUSTOM, EDGETPU_CUSTOM_OP, readModel, writeModel, type Tensor } from '../../src/model/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** test/fakes in the source tree, from test/helpers or dist/test/helpers. */
export const fakesDir = path.resolve(here, here.includes(`${path.sep}dist${path.sep}`) ? '../../../test/fakes' : '../fakes');

export interface StandInLibraries {
  readonly dir: string;
  /** The stand-in libedgetpu.so.1. */
  readonly edgetpu: string;
  /** The real TensorFlow Lite C library installed with the package. */
  readonly tflite: string;
}

let built: StandInLibraries | undefined;

export function buildStandInEdgeTpu(): StandInLibraries {
  if (built) return built;
  const tflite = bundledTflitePath();
  const include = path.join(nativeRoot(), 'tflite', 'include');
  if (!existsSync(tflite) || !existsSync(include)) {
    throw new Error(`the TensorFlow Lite C library is not installed at ${tflite}: run \`node native/fetch-tflite.mjs\` (npm install does)`);
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'coral-pipe-standin-'));
  const edgetpu = path.join(dir, 'libedgetpu.so.1');
  // $CC, so that a cross build (issue 14: arm64 under emulation) makes a stand-in the same architecture loads.
  execFileSync(process.env.CC ?? 'cc', ['-shared', '-fPIC', '-O1', '-pthread', '-I', include, '-I', path.join(nativeRoot(), 'src'), '-o', edgetpu, path.join(fakesDir, 'standin_edgetpu.c')], { stdio: 'pipe' });
  built = { dir, edgetpu, tflite };
  return built;
}

export interface StandInTensor {
  readonly name: string;
  readonly type: DType;
  readonly shape: readonly number[];
  readonly quant?: { scale: number; zeroPoint: number };
}

function tensor(t: StandInTensor): Tensor {
  return {
    name: t.name,
    type: t.type,
    shape: t.shape,
    buffer: 0,
    isVariable: false,
    hasRank: true,
    ...(t.quant && { quantization: { scale: [t.quant.scale], zeroPoint: [t.quant.zeroPoint], quantizedDimension: 0 } }),
  };
}

/** A .tflite whose graph is one edgetpu-custom-op from `inputs` to `outputs`. */
export function standInModel({ inputs, outputs }: { inputs: readonly StandInTensor[]; outputs: readonly StandInTensor[] }, description = 'coral-pipe stand-in Edge TPU model'): Uint8Array {
  const tensors = [...inputs, ...outputs].map(tensor);
  const ins = inputs.map((_, i) => i);
  const outs = outputs.map((_, i) => inputs.length + i);
  return writeModel({
    version: 3,
    description,
    operatorCodes: [{ builtinCode: BUILTIN_CUSTOM, deprecatedBuiltinCode: BUILTIN_CUSTOM, customCode: EDGETPU_CUSTOM_OP, version: 1 }],
    subgraphs: [{ name: 'main', tensors, inputs: ins, outputs: outs, operators: [{ opcodeIndex: 0, inputs: ins, outputs: outs, intermediates: [], customOptionsFormat: 0 }] }],
    buffers: [{ data: new Uint8Array(0) }],
    metadata: [],
    signatureDefs: [],
    metadataBuffer: [],
  });
}

/**
 * A CPU model or segment "compiled" for the stand-in: same input and output tensors (names, types,
 * shapes, quantization), its graph one edgetpu-custom-op. What it computes is the stand-in's function.
 */
export function standInCompiled(bytes: Uint8Array, description?: string): Uint8Array {
  const [main] = readModel(bytes).subgraphs;
  const io = (indices: readonly number[]) =>
    indices.map((i): StandInTensor => {
      const t = main!.tensors[i]!;
      const q = t.quantization;
      return { name: t.name, type: t.type, shape: t.shape, ...(q?.scale?.length && { quant: { scale: q.scale[0]!, zeroPoint: q.zeroPoint?.[0] ?? 0 } }) };
    });
  return standInModel({ inputs: io(main!.inputs), outputs: io(main!.outputs) }, description);
}
