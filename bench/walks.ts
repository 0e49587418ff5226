/**
 * Measures the walks docs/architecture.md describes: which of the project's source files run on the
 * main thread while one camera frame goes from its MQTT message to its published result, and while one
 * config reload that changes top-k is applied. V8's precise coverage (node:inspector) counts function
 * calls; taking it resets the counters, so a warm-up frame and reload are taken and dropped first and
 * only the measured step's files count. The segments' workers run engine code on their own threads,
 * not counted here.
 *
 * A real mosquitto and the real classifier (mobilenet_v1 0.25, 2 segments on CPU executors).
 * `npm run bench -- walks`.
 */
import { Session } from 'node:inspector/promises';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/daemon/config/config-load.js';
import { createPipelineClassifier } from '../src/daemon/frames/pipeline-classifier.js';
import { Daemon } from '../src/daemon/lifecycle/daemon.js';
import { createLogger } from '../src/daemon/lifecycle/logger.js';
import { topicsFor } from '../src/daemon/mqtt/topics.js';
import { testDataPath } from '../src/testdata.js';
import { Mosquitto } from '../test/helpers/mosquitto.js';
import { Observer } from '../test/helpers/mqtt-observer.js';
import type { BenchModule } from './lib/bench.js';
import type { ReportSection } from '../src/report/report-file.js';

const srcRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src');

interface Coverage {
  result: { url: string; functions: { functionName: string; ranges: { count: number }[] }[] }[];
}

/** Source files (relative to src/) with a function called since the last take, by calls. */
async function filesRun(session: Session): Promise<Map<string, number>> {
  const { result } = (await session.post('Profiler.takePreciseCoverage')) as Coverage;
  const files = new Map<string, number>();
  for (const script of result) {
    if (!script.url.startsWith('file://')) continue;
    const file = fileURLToPath(script.url);
    if (!file.startsWith(srcRoot)) continue;
    const calls = script.functions.reduce((n, f) => n + (f.ranges[0]?.count ?? 0), 0);
    if (calls > 0) files.set(path.relative(srcRoot, file).replace(/\.js$/, '.ts'), calls);
  }
  return files;
}

/** Files by the part of src/ they are in (`daemon`, `pipeline`...), for the table. */
function byArea(files: Map<string, number>): Record<string, number> {
  const areas: Record<string, number> = {};
  for (const file of files.keys()) {
    const area = file.split('/')[0]!.replace(/\.ts$/, '');
    areas[area] = (areas[area] ?? 0) + 1;
  }
  return areas;
}

/** The frame walk and the reload walk, measured once each after a warm-up. */
async function measure(): Promise<{ frame: Map<string, number>; reload: Map<string, number> }> {
  const broker = await Mosquitto.start();
  const dir = await mkdtemp(path.join(tmpdir(), 'coral-pipe-walks-'));
  const session = new Session();
  session.connect();
  try {
    const file = path.join(dir, 'walks.yaml');
    const model = testDataPath('models/mobilenet_v1_0.25_128_quant.tflite');
    const labels = testDataPath('labels/imagenet_labels.txt');
    const yaml = (topK: number) =>
      [
        'node: walks',
        `mqtt: {url: "${broker.url}", topicPrefix: walks}`,
        `model: {file: ${JSON.stringify(model)}, segments: 2, labels: ${JSON.stringify(labels)}}`,
        'cameras: {front: walks/front}',
        `topK: ${topK}`,
        // No stats while measuring.
        'statsIntervalSeconds: 3600',
        '',
      ].join('\n');
    await writeFile(file, yaml(3));
    // Computed here once: the bench runs in the daemon's process, and its own calls would count.
    const resultTopic = topicsFor('walks', 'walks').result('front');
    const observer = await Observer.connect(broker.url, [resultTopic]);
    const daemon = await Daemon.start({ config: await loadConfig(file), createClassifier: createPipelineClassifier, log: createLogger({ level: 'silent' }) });
    try {
      const image = await readFile(testDataPath('images/parrot.jpg'));
      const frame = async () => {
        const from = observer.mark();
        await observer.client.publishAsync('walks/front', image);
        await observer.next((s) => s.topic === resultTopic, 30_000, from);
      };
      await session.post('Profiler.enable');
      await session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: false });
      await frame();
      await filesRun(session);
      await frame();
      const frameWalk = await filesRun(session);
      await writeFile(file, yaml(2));
      await daemon.reloadFile();
      await filesRun(session);
      await writeFile(file, yaml(1));
      await daemon.reloadFile();
      return { frame: frameWalk, reload: await filesRun(session) };
    } finally {
      await session.post('Profiler.stopPreciseCoverage');
      await daemon.stop();
      await observer.close();
    }
  } finally {
    session.disconnect();
    await broker.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const walks: BenchModule = {
  name: 'walks',
  async run(): Promise<ReportSection[]> {
    const { frame, reload } = await measure();
    const list = (files: Map<string, number>) => [...files.keys()].sort().join(', ');
    return [
      {
        title: 'Source files run on the main thread: one frame (MQTT message to published result), one reload that rebuilds the classifier',
        rows: [
          { walk: 'frame', files: frame.size, ...byArea(frame) },
          { walk: 'reload', files: reload.size, ...byArea(reload) },
        ],
        notes: [
          'V8 precise coverage (call counts) of the main thread, reset after a warm-up frame and reload; workers not counted. docs/architecture.md describes both walks.',
          `frame: ${list(frame)}`,
          `reload: ${list(reload)}`,
        ],
      },
    ];
  },
};
export default walks;
