/**
 * Loads LiteRT.js (a browser package) into Node. It expects a worker-like global scope: `self`,
 * `importScripts`, and, for Emscripten's Node path, `require` and `__dirname`. We also hand Emscripten
 * a `Module` object so that (a) the WebAssembly is compiled once per process and instantiated in each
 * worker from that compiled module, and (b) the runtime's log lines reach us instead of stderr: its
 * errors ("Failed to allocate tensors") are the only sign of some failures, so engines read them.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const require = createRequire(import.meta.url);
export const liteRtWasmDir = path.join(path.dirname(require.resolve('@litertjs/core')), '..', 'wasm');
/**
 * Node 20 lacks relaxed SIMD, which the default build needs; the "compat" build runs everywhere and
 * measured the same speed here (16 ms for mobilenet_v2 either way).
 */
const scriptFile = path.join(liteRtWasmDir, 'litert_wasm_compat_internal.js');
const wasmFile = path.join(liteRtWasmDir, 'litert_wasm_compat_internal.wasm');

export type LiteRtModule = typeof import('@litertjs/core');

type LogSink = (line: string) => void;
const sinks = new Set<LogSink>();

/** Receives every line LiteRT prints until the returned function is called. */
export function captureLiteRtLog(sink: LogSink): () => void {
  sinks.add(sink);
  return () => sinks.delete(sink);
}

let compiled: Promise<WebAssembly.Module> | undefined;

/** The compiled LiteRT WebAssembly module; post it to workers so they skip the compile. */
export function compiledLiteRtWasm(): Promise<WebAssembly.Module> {
  compiled ??= WebAssembly.compile(readFileSync(wasmFile));
  return compiled;
}

let loaded: Promise<LiteRtModule> | undefined;

/**
 * Loads LiteRT.js once in this thread. `precompiled` is a module from `compiledLiteRtWasm()` in
 * another thread; without it this thread compiles (once).
 */
export function loadLiteRtRuntime(precompiled?: WebAssembly.Module): Promise<LiteRtModule> {
  loaded ??= load(precompiled).catch((err: unknown) => {
    loaded = undefined;
    throw err;
  });
  return loaded;
}

async function load(precompiled?: WebAssembly.Module): Promise<LiteRtModule> {
  const wasmModule = precompiled ?? (await compiledLiteRtWasm());
  const scope = globalThis as Record<string, unknown>;
  scope.self = globalThis;
  scope.require = require;
  scope.__dirname = liteRtWasmDir;
  scope.importScripts = (url: string) => {
    const file = url.startsWith('file:') ? fileURLToPath(url) : url;
    vm.runInThisContext(readFileSync(file, 'utf8'), { filename: file });
  };
  const emit = (line: string) => {
    for (const sink of sinks) sink(line);
  };
  scope.Module = {
    print: emit,
    printErr: emit,
    instantiateWasm(imports: WebAssembly.Imports, done: (i: WebAssembly.Instance, m: WebAssembly.Module) => void) {
      void WebAssembly.instantiate(wasmModule, imports).then((instance) => done(instance, wasmModule));
      return {};
    },
  };
  const litert: LiteRtModule = await import('@litertjs/core');
  // Its environment set-up warns on console that it found no WebGPU; Node has none by design.
  const warn = console.warn;
  console.warn = (...args: unknown[]) => emit(args.map(String).join(' '));
  try {
    await litert.loadLiteRt(scriptFile);
  } finally {
    console.warn = warn;
  }
  return litert;
}
