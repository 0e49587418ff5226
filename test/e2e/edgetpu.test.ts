/**
 * The daemon serving with an Edge TPU segment end to end, over the real TensorFlow Lite C library and
 * the stand-in libedgetpu (no Edge TPU here): mobilenet_v2's first half "compiled" for the stand-in on
 * a (stand-in) USB Accelerator, its real second half on a CPU executor, real JPEGs over a real broker.
 * Then a device that fails mid-stream and one that hangs, as the stand-in's knobs make them.
 */
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import sharp from 'sharp';
import { Daemon } from '../../src/daemon/lifecycle/daemon.js';
import { createLogger } from '../../src/daemon/lifecycle/logger.js';
import { createPipelineClassifier } from '../../src/daemon/frames/pipeline-classifier.js';
import { topicsFor } from '../../src/daemon/mqtt/topics.js';
import { cpuDevices } from '../../src/devices/device.js';
import { DeviceWatcher } from '../../src/devices/hotplug.js';
import type { Notifier } from '../../src/systemd/notify.js';
import { testDataPath } from '../../src/testdata.js';
import { testDaemonConfig } from '../helpers/daemon-config.js';
import { readyUsbTpu } from '../helpers/fake-devices.js';
import { memoryLog, until } from '../helpers/fault-tools.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { Observer, type Seen } from '../helpers/mqtt-observer.js';
import { removeSegments, writeSegments } from '../helpers/segment-files.js';
import { buildStandInEdgeTpu, standInCompiled } from '../helpers/standin-edgetpu.js';

const json = (s: Seen) => JSON.parse(s.payload.toString()) as Record<string, any>;
const TPU = readyUsbTpu(1);

describe('daemon with an Edge TPU segment on the real TensorFlow Lite library', () => {
  let broker: Mosquitto;
  let dir: string;
  let cpuFiles: string[];
  let segmentFiles: string[];
  let invokeLog: string;
  let jpeg: Buffer;
  const env: Record<string, string> = {};

  before(async () => {
    const libs = buildStandInEdgeTpu();
    broker = await Mosquitto.start();
    dir = await mkdtemp(path.join(tmpdir(), 'coral-pipe-daemon-edgetpu-'));
    cpuFiles = await writeSegments(testDataPath('models/mobilenet_v2_1.0_224_quant.tflite'), 2);
    const tpuFile = path.join(dir, 'mobilenet_v2_1.0_224_quant_segment_0_of_2_edgetpu.tflite');
    writeFileSync(tpuFile, standInCompiled(new Uint8Array(readFileSync(cpuFiles[0]!))));
    segmentFiles = [tpuFile, cpuFiles[1]!];
    invokeLog = path.join(dir, 'invokes.log');
    Object.assign(env, {
      CORAL_PIPE_LIBEDGETPU: libs.edgetpu,
      CORAL_PIPE_LIBTFLITE_C: libs.tflite,
      FAKE_EDGETPU_DEVICES: `usb:${TPU.selector}`,
      FAKE_EDGETPU_INVOKE_LOG: invokeLog,
    });
    Object.assign(process.env, env);
    jpeg = await sharp(testDataPath('images/parrot.jpg')).resize(320, 240).jpeg().toBuffer();
  });
  after(async () => {
    // A hung stand-in invoke ends once its release line is logged.
    appendFileSync(invokeLog, `release ${TPU.selector}\n`);
    for (const name of Object.keys(env)) delete process.env[name];
    removeSegments(cpuFiles);
    await broker.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** A daemon placing the segments `auto` on the stand-in TPU and a CPU executor; `knobs` set the stand-in's. */
  async function start(t: TestContext, knobs: Record<string, string>, notifier?: Notifier, log = memoryLog().log) {
    rmSync(invokeLog, { force: true });
    for (const [name, value] of Object.entries(knobs)) process.env[name] = value;
    t.after(() => {
      for (const name of Object.keys(knobs)) delete process.env[name];
    });
    const p = process.pid;
    const config = await testDaemonConfig(
      broker.url,
      [`cameras: {a: etpu/${p}/a}`, 'devices: auto', 'statsIntervalSeconds: 1'].join('\n'),
    );
    const withSegments = { ...config, model: { segmentFiles, labels: testDataPath('labels/imagenet_labels.txt') } };
    const topics = topicsFor(config.mqtt.topicPrefix, config.node);
    const observer = await Observer.connect(broker.url, [`${config.mqtt.topicPrefix}/${config.node}/#`]);
    const watcher = new DeviceWatcher({ enumerate: async () => ({ devices: [TPU, ...cpuDevices(2)], problems: [] }), pollIntervalMs: 0, firmwareWindowMs: 0 });
    const daemon = await Daemon.start({
      config: withSegments,
      createClassifier: createPipelineClassifier,
      log,
      ...(notifier && { notifier }),
      deviceWatcher: watcher,
      leaseDir: path.join(dir, 'leases'),
      recovery: { minDelayMs: 20, maxDelayMs: 40 },
    });
    t.after(() => Promise.all([daemon.stop(), observer.close()]));
    return { daemon, observer, topics, frameTopic: `etpu/${p}/a` };
  }

  it('serves frames end to end: the Edge TPU segment on its device, the CPU segment after it', async (t) => {
    const { observer, topics, frameTopic } = await start(t, {});
    const status = json(await observer.next((s) => s.topic === topics.status && json(s).state === 'running'));
    assert.deepEqual(status.layout.map((l: { devices: string[] }) => l.devices), [[TPU.id], ['cpu:0']]);
    assert.equal(status.devices[TPU.id].type, 'usb');
    const from = observer.mark();
    for (let n = 0; n < 3; n++) await observer.client.publishAsync(frameTopic, jpeg);
    const resultsSince = () => observer.seen.slice(from).filter((s) => s.topic === topics.result('a')).map(json);
    await until(() => resultsSince().length >= 3, '3 results');
    const results = resultsSince();
    // The stand-in computes a function of the image, so one image gives one answer every time.
    assert.ok(results.every((r) => r.top.length > 0 && JSON.stringify(r.top) === JSON.stringify(results[0]!.top)), JSON.stringify(results.map((r) => r.top)));
    const ends = readFileSync(invokeLog, 'utf8').split('\n').filter((l) => l === `end ${TPU.selector}`);
    assert.ok(ends.length >= 3, `the stand-in Edge TPU ran ${ends.length} invokes for 3 frames`);
    const stats = json(await observer.next((s) => s.topic === topics.stats && (json(s).pipeline?.devices?.[TPU.id]?.invokes ?? 0) >= 3, 10_000, from));
    assert.equal(stats.pipeline.devices[TPU.id].failures, 0);
  });

  it('a device that fails mid-stream: the frames after it get error events naming it; the daemon serves on', async (t) => {
    const { log, entries } = memoryLog();
    const { observer, topics, frameTopic } = await start(t, { FAKE_EDGETPU_FAILAFTER: `${TPU.selector}=2` }, undefined, log);
    /** Publishes one frame and waits for its answer or its error event. */
    const send = async () => {
      const from = observer.mark();
      await observer.client.publishAsync(frameTopic, jpeg);
      const seen = await observer.next((s) => s.topic === topics.result('a') || s.topic === topics.error('a'), 30_000, from);
      return { kind: seen.topic === topics.result('a') ? 'result' : 'error', ...json(seen) } as Record<string, any>;
    };
    const answers = [await send(), await send(), await send(), await send()];
    assert.deepEqual(answers.map((a) => a.kind), ['result', 'result', 'error', 'error']);
    assert.match(answers[2]!.reason, new RegExp(`segment 0 on ${TPU.id}.*stand-in Edge TPU ${TPU.selector} stopped answering`));
    assert.ok(entries.some((e) => /stopped answering/.test(JSON.stringify(e))), 'the failure is not in the log');
    const stats = json(await observer.next((s) => s.topic === topics.stats && (json(s).pipeline?.devices?.[TPU.id]?.failures ?? 0) >= 2, 10_000));
    assert.deepEqual([stats.pipeline.devices[TPU.id].invokes, stats.pipeline.devices[TPU.id].failures], [2, 2]);
  });

  it('a device that hangs: the watchdog pings stop while it hangs and resume once it answers', async (t) => {
    const pings: string[] = [];
    const notifier: Notifier = {
      enabled: true,
      watchdogIntervalMs: 40,
      ready: () => {},
      status: () => {},
      watchdog: () => pings.push('WATCHDOG'),
      stopping: () => {},
      send: () => {},
    };
    const log = createLogger({ level: 'warn', destination: { write: (line: string) => void ((JSON.parse(line) as { event?: string }).event === 'watchdog-withheld' && pings.push('WITHHELD')) } });
    const { observer, topics, frameTopic } = await start(t, { FAKE_EDGETPU_HANGAFTER: `${TPU.selector}=1` }, notifier, log);
    const first = observer.mark();
    await observer.client.publishAsync(frameTopic, jpeg);
    await observer.next((s) => s.topic === topics.result('a'), 30_000, first);
    // The second invoke hangs in the (stand-in) device call.
    await observer.client.publishAsync(frameTopic, jpeg);
    await until(() => readFileSync(invokeLog, 'utf8').split('\n').filter((l) => l === `start ${TPU.selector}`).length >= 2, 'the second invoke to start');
    const hung = pings.length;
    await until(() => pings.slice(hung).filter((p) => p === 'WITHHELD').length >= 4, '4 watchdog ticks withheld while the device hangs');
    const stalled = hung + pings.slice(hung).indexOf('WITHHELD');
    assert.equal(pings.slice(stalled).filter((p) => p === 'WATCHDOG').length, 0, `watchdog pinged while hung: ${pings.slice(stalled).join(', ')}`);
    const released = observer.mark();
    appendFileSync(invokeLog, `release ${TPU.selector}\n`);
    await observer.next((s) => s.topic === topics.result('a'), 30_000, released);
    const resumed = pings.length;
    await until(() => pings.slice(resumed).includes('WATCHDOG'), 'pings to resume');
  });
});
