/**
 * What `coral-pipe devices` says of the libraries behind the engines: which TensorFlow Lite C library
 * and which libedgetpu were found (version and path) or what is missing and how to get it, and, where
 * libedgetpu is loaded, the Edge TPUs it sees set against those the USB and PCIe probes found.
 */
import { isEdgeTpu, type Device } from './device.js';
import { describe, EDGETPU_HINT, loadTfliteRuntime, TFLITE_HINT, type TfliteLibraryPaths } from './tflite-runtime.js';

export type LibraryReport = { readonly path: string; readonly version: string } | { readonly missing: string; readonly fix: string };

export interface RuntimeReport {
  readonly tflite: LibraryReport;
  readonly edgetpu: LibraryReport;
  /** Where libedgetpu is loaded: Edge TPUs (`type:path`) only it lists, and only the probes list. */
  readonly onlyLibedgetpu?: readonly string[];
  readonly onlyProbed?: readonly string[];
}

export function runtimeReport(probed: readonly Device[], paths: TfliteLibraryPaths = {}): RuntimeReport {
  let runtime: ReturnType<typeof loadTfliteRuntime>;
  try {
    runtime = loadTfliteRuntime(paths);
  } catch (err) {
    const missing = { missing: 'not loaded: the TensorFlow Lite C library is needed first', fix: EDGETPU_HINT };
    return { tflite: { missing: describe(err), fix: TFLITE_HINT }, edgetpu: missing };
  }
  const { libraries, addon } = runtime;
  const tflite = { path: libraries.tflitePath, version: libraries.tfliteVersion };
  if (libraries.edgetpuPath === undefined) return { tflite, edgetpu: { missing: libraries.edgetpuError ?? 'not loaded', fix: EDGETPU_HINT } };
  const listed = new Set(addon.listDevices().map((d) => `${d.type}:${d.path}`));
  const found = new Set(probed.filter(isEdgeTpu).map((d) => `${d.type}:${d.selector}`));
  return {
    tflite,
    edgetpu: { path: libraries.edgetpuPath, version: libraries.edgetpuVersion ?? '' },
    onlyLibedgetpu: [...listed].filter((id) => !found.has(id)),
    onlyProbed: [...found].filter((id) => !listed.has(id)),
  };
}

/** The report as lines for a terminal. */
export function formatRuntimeReport(report: RuntimeReport): string {
  const library = (name: string, r: LibraryReport) =>
    'path' in r ? `${name}: ${r.version} at ${r.path}\n` : `${name}: missing: ${r.missing}\n  to get it: ${r.fix}\n`;
  let text = library('TensorFlow Lite C library', report.tflite) + library('libedgetpu', report.edgetpu);
  for (const id of report.onlyLibedgetpu ?? []) text += `warning: libedgetpu sees the Edge TPU ${id}, which the USB/PCIe probes did not find\n`;
  for (const id of report.onlyProbed ?? []) text += `warning: the probes found the Edge TPU ${id}, which libedgetpu does not see (driver, permissions, or still loading firmware)\n`;
  return text;
}
