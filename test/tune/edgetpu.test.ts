// tune on Edge TPUs: fake devices, the stand-in libedgetpu on the real TensorFlow Lite C library (no
// Edge TPU here), the real SSD segment sets edgetpu_compiler made, and the stand-in compiler.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTuneCommand } from '../../src/cli/commands/tune.js';
import { loadConfig } from '../../src/daemon/config/config-load.js';
import { checkModel } from '../../src/daemon/config/model-check.js';
import { testDataPath } from '../../src/testdata.js';
import { describeLayout } from '../../src/pipeline/layout.js';
import { NO_EDGETPU_LATENCY_CUT } from '../../src/tune/layout-segments.js';
import { segmentSupply, tuneDevices } from '../../src/tune/tune-target.js';
import { tune } from '../../src/tune/tune.js';
import { readyUsbTpu } from '../helpers/fake-devices.js';
import { buildStandInEdgeTpu, fakesDir } from '../helpers/standin-edgetpu.js';

const SSD = 'ssd_mobilenet_v1_coco_quant_postprocess';
const TPUS = [1, 2, 3, 4].map(readyUsbTpu);
const enumerate = async () => ({ devices: [...TPUS], problems: [] });

describe('tune on Edge TPUs', () => {
  let dir: string;
  let leaseDir: string;
  let deviceLog: string;
  const env: Record<string, string> = {};

  before(() => {
    const libs = buildStandInEdgeTpu();
    dir = mkdtempSync(path.join(os.tmpdir(), 'coral-pipe-tune-edgetpu-'));
    leaseDir = path.join(dir, 'leases');
    deviceLog = path.join(dir, 'devices.log');
    Object.assign(env, {
      CORAL_PIPE_LIBEDGETPU: libs.edgetpu,
      CORAL_PIPE_LIBTFLITE_C: libs.tflite,
      FAKE_EDGETPU_DEVICES: TPUS.map((d) => `usb:${d.selector}`).join(','),
      FAKE_EDGETPU_LOG: deviceLog,
      // A device call that takes time, so that layouts differ as they would on Edge TPUs.
      FAKE_EDGETPU_DELAYUS: '5000',
    });
    Object.assign(process.env, env);
  });
  after(() => {
    for (const name of Object.keys(env)) delete process.env[name];
    rmSync(dir, { recursive: true, force: true });
  });

  const placement = () => ({ deviceIds: TPUS.map((d) => d.id), enumerate, leases: { runtimeDir: leaseDir } });
  const leftLeases = () => (existsSync(leaseDir) ? readdirSync(leaseDir) : []);

  it('measures the compiled sets it finds (SSD in 2 and 4 segments) and their mixes, and says why it tried no other', async () => {
    const devices = await tuneDevices('auto', enumerate);
    assert.deepEqual(devices, { ids: TPUS.map((d) => d.id), edgeTpu: true, note: '4 Edge TPU(s) found' });
    const file = testDataPath(`segments/${SSD}_segment_0_of_2_edgetpu.tflite`);
    const supply = await segmentSupply(file, readFileSync(file), devices, { compiledDirs: [], workDir: dir });
    assert.match(supply.source, /compiled sets of ssd_mobilenet_v1_coco_quant_postprocess in .* \(2 segments, 4 segments\)/);
    const inputs = Object.fromEntries(supply.inputs.map((s) => [s.name, new Uint8Array(s.shape.reduce((a, b) => a * b, 1)).fill(7)]));
    const report = await tune({ supply, placement: placement(), objective: 'throughput', budgetSeconds: 600, inputs, items: 8, warmup: 2 });
    const measured = report.runs.map((r) => describeLayout(r.layout));
    assert.deepEqual(measured.slice(0, 2), ['2 segments (params)', '4 segments (params)']);
    // Two spare devices go to the 2-segment pipeline's slower segments.
    assert.equal(measured.length, 3);
    assert.match(measured[2]!, /^2 segments \(params\) x \[(3, 1|2, 2|1, 3)\]$/);
    const why = Object.fromEntries(report.skipped.map((s) => [s.layout, s.why]));
    assert.match(why['whole model']!, new RegExp(`no compiled ${SSD}_edgetpu\\.tflite in .*\\(edgetpu_compiler makes it\\)`));
    assert.match(why['3 segments (params)']!, new RegExp(`no compiled ${SSD}_segment_<0\\.\\.2>_of_3_edgetpu\\.tflite .*--num_segments 3`));
    for (const n of [2, 3, 4]) assert.equal(why[`${n} segments (latency)`], NO_EDGETPU_LATENCY_CUT);
    assert.equal(report.skipped.length, 4 + 1 + 3, 'the whole model x 1..4, 3 segments, the latency cuts');
    for (const run of report.runs) assert.equal(run.fitsOnChip, undefined, 'a compiled file does not say what streams');
    const opened = new Set(readFileSync(deviceLog, 'utf8').split('\n').filter((l) => l.startsWith('open usb ')).map((l) => l.split(' ')[2]));
    assert.deepEqual([...opened].sort(), TPUS.map((d) => d.selector).sort(), 'the 4-segment pipeline used every device');
    assert.deepEqual(leftLeases(), [], 'every lease released');
  });

  it('compiles each cut with edgetpu_compiler, reports the on-chip fit, and writes the compiled set it chose into a config the daemon accepts', async () => {
    const compiler = path.join(mkdtempSync(path.join(dir, 'bin-')), 'edgetpu_compiler');
    symlinkSync(path.join(fakesDir, 'edgetpu_compiler'), compiler);
    const configDir = mkdtempSync(path.join(dir, 'etc-'));
    const config = path.join(configDir, 'coral-pipe.yaml');
    const model = testDataPath('models/mobilenet_v1_0.25_128_quant.tflite');
    const labels = testDataPath('labels/imagenet_labels.txt');
    writeFileSync(config, `# the appliance\nmodel:\n  file: ${model}   # the CPU model\n  strategy: latency\n  labels: ${labels}\ncameras: {front: cam/front}\n`);
    const out: string[] = [];
    const command = createTuneCommand({ enumerate, leases: { runtimeDir: leaseDir }, write: (text) => out.push(text) });
    const code = await command.run([model, '--devices', 'usb:0,usb:1', '--compiler', compiler, '--items', '8', '--write-config', config]);
    const table = out.join('');
    assert.equal(code, 0, table);
    for (const layout of ['whole model', 'whole model x 2', '2 segments (params)']) {
      assert.match(table, new RegExp(`^${layout.replace(/[()]/g, '\\$&')}\\s+\\d+\\s+[\\d.]+\\s+[\\d.]+\\s+[\\d.]+\\s+[\\d.]+\\s+[\\d.]+\\s+yes\\s`, 'm'), table);
    }
    assert.match(table, /^not measured: 2 segments \(latency\): a latency cut for Edge TPUs needs/m);
    assert.match(table, /fits on chip +off-chip MiB/, 'the compiler\'s figure beside the fit');
    const written = readFileSync(config, 'utf8');
    assert.equal(
      written,
      `# the appliance\nmodel:\n  segmentFiles: [mobilenet_v1_0.25_128_quant_edgetpu.tflite]   # the CPU model\n  labels: ${labels}\n  layout: "whole model x 2"\ncameras: {front: cam/front}\n` +
        `devices: [[${TPUS[0]!.id}, ${TPUS[1]!.id}]]\n`,
      'the whole model on 2 Edge TPUs won; the devices by their stable ids',
    );
    const parsed = await loadConfig(config);
    const files = parsed.model.segmentFiles!;
    for (const f of files) {
      assert.equal(path.dirname(f), configDir, 'the compiled files kept beside the config');
      assert.match(path.basename(f), /^mobilenet_v1_0\.25_128_quant(_segment_\d_of_\d)?_edgetpu\.tflite$/);
    }
    assert.ok(Array.isArray(parsed.devices) && parsed.devices.flat().every((id) => id.startsWith('usb:')), JSON.stringify(parsed.devices));
    // What check-config and the daemon check before serving, on the devices present.
    const checked = await checkModel(parsed, { devices: TPUS });
    assert.equal(checked.files.length, files.length);
    assert.deepEqual(leftLeases(), []);
  });

  it('stops a layout halfway that by then runs at under half the best rate, and says so', async (t) => {
    // The first Edge TPU answers in 1 ms, the second in 40 ms: a pipeline with a segment on the second
    // cannot come near the whole model on the first.
    process.env.FAKE_EDGETPU_DELAYUS = `${TPUS[0]!.selector}=1000,${TPUS[1]!.selector}=40000`;
    t.after(() => void (process.env.FAKE_EDGETPU_DELAYUS = env.FAKE_EDGETPU_DELAYUS));
    const compiler = path.join(mkdtempSync(path.join(dir, 'bin-')), 'edgetpu_compiler');
    symlinkSync(path.join(fakesDir, 'edgetpu_compiler'), compiler);
    const model = testDataPath('models/mobilenet_v1_0.25_128_quant.tflite');
    const devices = { ids: [TPUS[0]!.id, TPUS[1]!.id], edgeTpu: true };
    const supply = await segmentSupply(model, readFileSync(model), devices, { compiler, compiledDirs: [], workDir: mkdtempSync(path.join(dir, 'work-')) });
    const inputs = { input: new Uint8Array(128 * 128 * 3).fill(9) };
    const report = await tune({ supply, placement: { ...placement(), deviceIds: devices.ids }, objective: 'throughput', budgetSeconds: 600, inputs, items: 8, warmup: 2 });
    const run = (name: string) => report.runs.find((r) => describeLayout(r.layout) === name)!;
    assert.equal(run('whole model').stoppedEarly, undefined, 'the first layout sets the mark');
    assert.equal(run('2 segments (params)').stoppedEarly, true, JSON.stringify(report.runs.map((r) => [describeLayout(r.layout), r.itemsPerSecond])));
    assert.ok(run('2 segments (params)').itemsPerSecond < 0.5 * run('whole model').itemsPerSecond);
    assert.notEqual(report.ranked[0]!.layout, run('2 segments (params)').layout, 'a stopped layout is not the best');
  });
});
