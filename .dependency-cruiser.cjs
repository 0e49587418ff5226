/**
 * The layers of src/, lowest first: a module may import its own layer and those below, never above
 * (`npm test` runs this through dependency-cruiser; docs/architecture.md draws it).
 */
const LAYERS = [
  // What a tensor is, report pages, and loaders with no project imports at all.
  ['tensors', 'native', 'report', 'testdata.ts', 'package-version.ts', 'types'],
  // The .tflite codec and segmentation; images to tensors; labels and top-k; sd_notify and the journal.
  ['model', 'image', 'classify', 'systemd'],
  // Engines, device probes, leases, placement; segments run on engines (verify, latency timing).
  ['devices'],
  // The pipelined runner.
  ['pipeline'],
  // The daemon, the model summary and `tune`.
  ['daemon', 'inspect', 'tune'],
  // The command line and the package's entry point.
  ['cli', 'index.ts'],
];

/** The daemon's parts, lowest first, by the same rule. */
const DAEMON_LAYERS = [['config'], ['mqtt'], ['frames'], ['lifecycle']];

const area = (names, root = 'src') => `^${root}/(${names.map((n) => n.replace('.', '\\.')).join('|')})($|/)`;

/** One rule per layer but the top: it may not import any layer above it. */
const upward = (layers, root, prefix) =>
  layers.slice(0, -1).map((layer, i) => ({
    name: `${prefix}-${i}-imports-up`,
    comment: `${root}/{${layer.join(',')}} may not import a higher layer`,
    severity: 'error',
    from: { path: area(layer, root) },
    to: { path: area(layers.slice(i + 1).flat(), root) },
  }));

module.exports = {
  forbidden: [
    ...upward(LAYERS, 'src', 'layer'),
    ...upward(DAEMON_LAYERS, 'src/daemon', 'daemon'),
    {
      name: 'no-circular',
      comment: 'modules that import each other, directly or round about',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'src-not-to-test',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
  ],
  options: {
    // swc parses TypeScript without the TypeScript compiler's JS API (TypeScript 7 has none) and keeps
    // type-only imports, which count here like the others.
    parser: 'swc',
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
  },
};
