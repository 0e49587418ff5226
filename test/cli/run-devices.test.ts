// `coral-pipe run` placing segments on Edge TPUs: the command in-process over injected device scans and
// a temporary lease directory, the real Edge TPU compiled segments from the test data (no Edge TPU
// here) on the real TensorFlow Lite C library with the stand-in libedgetpu; exit codes through the built CLI.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { UsageError } from '../../src/cli/command.js';
import { createRunCommand } from '../../src/cli/commands/run.js';
import { cpuDevices, type Device } from '../../src/devices/device.js';
import { DeviceMismatchError } from '../../src/devices/placement.js';
import { EngineError } from '../../src/devices/engine.js';
import { DeviceBusyError, leaseHolder, lockFileFor } from '../../src/devices/lease.js';
import { testDataPath } from '../../src/testdata.js';
import { runCli } from '../helpers/cli.js';
import { readyUsbTpu } from '../helpers/fake-devices.js';
import { buildStandInEdgeTpu } from '../helpers/standin-edgetpu.js';
import { holdLeaseInChild, killChild } from '../helpers/lease-holder.js';
import { removeSegments, writeSegments } from '../helpers/segment-files.js';

const SSD = 'ssd_mobilenet_v1_coco_quant_postprocess';
const edgeTpuSegments = [0, 1].map((i) => testDataPath(`segments/${SSD}_segment_${i}_of_2_edgetpu.tflite`));
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

describe('coral-pipe run on Edge TPUs', () => {
  let dir: string;
  let leaseDir: string;
  const tpus = [readyUsbTpu(1), readyUsbTpu(2)];

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'coral-pipe-run-devices-'));
    leaseDir = path.join(dir, 'leases');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** The run command over a machine holding `present`, with leases in the test's directory. */
  function runOn(present: readonly Device[], argv: string[]) {
    let scans = 0;
    const command = createRunCommand({
      enumerate: async () => {
        scans++;
        return { devices: [...present], problems: [] };
      },
      leases: { runtimeDir: leaseDir },
    });
    return { result: command.run(argv), scans: () => scans };
  }

  const lockFiles = () => (existsSync(leaseDir) ? readdirSync(leaseDir) : []);

  it('with no Edge TPU present, names the segment that needs one and how many there are; leases nothing', async () => {
    const { result } = runOn(cpuDevices(2), [...edgeTpuSegments, '--count', '1']);
    await assert.rejects(result, (err: unknown) => {
      assert.ok(err instanceof DeviceMismatchError, String(err));
      // Not a UsageError, so the CLI prints it as one line and exits 1.
      assert.ok(!(err instanceof UsageError));
      assert.match(err.message, new RegExp(`^segment 0 \\(${escape(SSD)}_segment_0_of_2_edgetpu\\.tflite\\) needs an Edge TPU, but only 0 usable Edge TPU\\(s\\) are present`));
      return true;
    });
    assert.deepEqual(lockFiles(), []);
  });

  it('refuses a device another process holds, naming it and the holder, and does not keep the other lease', async (t) => {
    const other = await holdLeaseInChild(tpus[1]!.id, leaseDir);
    t.after(() => killChild(other));
    const { result } = runOn([...tpus, ...cpuDevices(2)], edgeTpuSegments);
    await assert.rejects(result, (err: unknown) => {
      assert.ok(err instanceof DeviceBusyError, String(err));
      assert.equal(err.deviceId, tpus[1]!.id);
      assert.equal(err.holder.pid, other.pid);
      assert.match(err.message, new RegExp(`^device ${escape(tpus[1]!.id)} is leased by pid ${other.pid} `));
      return true;
    });
    // The first segment's device was leased before the second was found busy: released again.
    assert.equal(existsSync(lockFileFor(tpus[0]!.id, leaseDir)), false);
    assert.equal(leaseHolder(tpus[1]!.id, { runtimeDir: leaseDir })?.pid, other.pid, "the other process's lease was touched");
    await killChild(other);
  });

  /** Points the addon at the stand-in libedgetpu listing `present` for this test; returns its call log. */
  function useStandIns(t: TestContext, present: readonly Device[]): string {
    const libs = buildStandInEdgeTpu();
    const log = path.join(dir, `edgetpu-${present.length}.log`);
    const env = {
      CORAL_PIPE_LIBEDGETPU: libs.edgetpu,
      CORAL_PIPE_LIBTFLITE_C: libs.tflite,
      FAKE_EDGETPU_DEVICES: present.map((d) => `usb:${d.selector}`).join(','),
      FAKE_EDGETPU_LOG: log,
    };
    const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, env);
    t.after(() => {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    });
    return log;
  }

  /** The devices libedgetpu was asked to open, as `open usb <path>` lines, sorted. */
  const openedIn = (log: string) => readFileSync(log, 'utf8').split('\n').filter((line) => line.startsWith('open ')).map((line) => line.split(' ').slice(0, 3).join(' ')).sort();

  it('runs the real SSD segments, each on its own Edge TPU through libedgetpu, and releases the leases', async (t) => {
    const log = useStandIns(t, tpus);
    const { result } = runOn([...tpus, ...cpuDevices(2)], [...edgeTpuSegments, '--count', '3', '--json']);
    const written: string[] = [];
    const write = process.stdout.write;
    // Strings are the command's report; the test runner's own messages (bytes) go through.
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) =>
      typeof chunk === 'string' ? (written.push(chunk), true) : write.call(process.stdout, chunk, ...rest)) as typeof process.stdout.write;
    try {
      assert.equal(await result, 0);
    } finally {
      process.stdout.write = write;
    }
    const report = JSON.parse(written.join('')) as { items: number; stats: { segments: { devices: string[]; count: number }[] } };
    assert.equal(report.items, 3);
    assert.deepEqual(report.stats.segments.map((s) => [s.devices, s.count]), tpus.map((d) => [[d.id], 3]));
    assert.deepEqual(openedIn(log), tpus.map((d) => `open usb ${d.selector}`));
    assert.deepEqual(lockFiles(), []);
  });

  it('releases both leases when a segment cannot open on its Edge TPU', async (t) => {
    // The scan lists both Edge TPUs, libedgetpu only the first (the second unplugged in between).
    const log = useStandIns(t, tpus.slice(0, 1));
    const { result } = runOn([...tpus, ...cpuDevices(2)], [...edgeTpuSegments, '--count', '1']);
    await assert.rejects(result, (err: unknown) => {
      assert.ok(err instanceof EngineError, String(err));
      assert.equal(err.device, tpus[1]!.id);
      assert.match(err.message, new RegExp(`^segment 1: .*libedgetpu does not see usb device ${escape(tpus[1]!.selector)}`));
      return true;
    });
    assert.deepEqual(openedIn(log), [`open usb ${tpus[0]!.selector}`]);
    for (const tpu of tpus) assert.equal(leaseHolder(tpu.id, { runtimeDir: leaseDir }), undefined, `${tpu.id} still leased`);
    assert.deepEqual(lockFiles(), []);
  });

  it('places replicas given with + on their own Edge TPUs and leases every one', async (t) => {
    // The third Edge TPU, a replica of segment 1, is held elsewhere: only a run that placed and claimed
    // it as a replica can name it (no engine opens before every lease is taken).
    const three = [...tpus, readyUsbTpu(3)];
    const other = await holdLeaseInChild(three[2]!.id, leaseDir);
    t.after(() => killChild(other));
    const { result } = runOn([...three, ...cpuDevices(2)], [...edgeTpuSegments, '--devices', 'usb:0,usb:1+usb:2']);
    await assert.rejects(result, (err: unknown) => {
      assert.ok(err instanceof DeviceBusyError, String(err));
      assert.equal(err.deviceId, three[2]!.id);
      return true;
    });
    for (const tpu of tpus) assert.equal(leaseHolder(tpu.id, { runtimeDir: leaseDir }), undefined, `${tpu.id} still leased`);
    await killChild(other);
    // The killed holder leaves its lock file behind (stale, reclaimable): later tests count lock files.
    rmSync(lockFileFor(three[2]!.id, leaseDir), { force: true });
  });

  it('refuses a CPU device for an Edge TPU segment, and --replicas with Edge TPU segments', async () => {
    const onCpu = runOn([...tpus, ...cpuDevices(2)], [...edgeTpuSegments, '--devices', 'cpu:0,cpu:1']);
    await assert.rejects(onCpu.result, (err: unknown) => {
      assert.ok(err instanceof DeviceMismatchError, String(err));
      assert.equal(err.device, 'cpu:0');
      assert.match(err.message, new RegExp(`^segment 0 \\(${escape(SSD)}_segment_0_of_2_edgetpu\\.tflite\\) is Edge TPU compiled \\(holds edgetpu-custom-op\\) and cannot run on cpu:0; give it a usb or pci device$`));
      return true;
    });
    const replicas = runOn([...tpus, ...cpuDevices(2)], [...edgeTpuSegments, '--replicas', '2']);
    await assert.rejects(replicas.result, (err: unknown) => {
      assert.ok(err instanceof UsageError, String(err));
      assert.match(err.message, new RegExp(`^--replicas is for CPU segments, and segment 0 \\(${escape(SSD)}_segment_0_of_2_edgetpu\\.tflite\\) is Edge TPU compiled; give its Edge TPUs with --devices, e.g. usb:0\\+usb:1$`));
      return true;
    });
    assert.equal(replicas.scans(), 0, 'a usage error is found before any device scan');
    assert.deepEqual(lockFiles(), []);
  });

  it('exits 1 with one line for a device that cannot run a segment, 2 for the wrong number of --devices', async () => {
    const mismatch = await runCli('run', ...edgeTpuSegments, '--devices', 'cpu:0,cpu:1');
    assert.equal(mismatch.code, 1);
    assert.match(mismatch.stderr, /^coral-pipe run: DeviceMismatchError: segment 0 \(.*\) is Edge TPU compiled .* cannot run on cpu:0; give it a usb or pci device\n$/);
    const count = await runCli('run', ...edgeTpuSegments, '--devices', 'usb:0');
    assert.equal(count.code, 2);
    assert.match(count.stderr, /^coral-pipe run: --devices gives 1 entries for 2 segments: give one per segment\nusage: coral-pipe run SEGMENT\.\.\./);
    const both = await runCli('run', ...edgeTpuSegments, '--devices', 'usb:0,usb:1', '--replicas', '2');
    assert.equal(both.code, 2);
    assert.match(both.stderr, /give --replicas or --devices, not both/);
  });
});

describe('coral-pipe run --devices on CPU segments', () => {
  let segments: string[];
  before(async () => {
    segments = await writeSegments(testDataPath('models/mobilenet_v1_0.25_128_quant.tflite'), 2);
  });
  after(() => removeSegments(segments));

  it('runs each segment on the CPU executor named', async () => {
    const result = await runCli('run', ...segments, '--count', '3', '--devices', 'cpu:1,cpu:0', '--json');
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as { items: number; stats: { segments: { name: string; count: number; devices: string[] }[] } };
    assert.equal(report.items, 3);
    assert.deepEqual(
      report.stats.segments.map((s) => [s.name, s.devices, s.count]),
      segments.map((file, i) => [path.basename(file), [`cpu:${1 - i}`], 3]),
    );
  });

  it('runs a segment on the CPU engine its device names: tflite:N the native TensorFlow Lite library, litert:N LiteRT.js', async () => {
    const result = await runCli('run', ...segments, '--count', '3', '--devices', 'tflite:0,litert:1', '--json');
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as { items: number; stats: { segments: { count: number; devices: string[] }[] } };
    assert.deepEqual(report.stats.segments.map((s) => [s.devices, s.count]), [[['tflite:0'], 3], [['litert:1'], 3]]);
  });

  it('gives a segment the replicas joined by +', async () => {
    const result = await runCli('run', ...segments, '--count', '4', '--devices', 'cpu:0+cpu:1,cpu:2', '--json');
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as { stats: { segments: { devices: string[]; count: number }[] } };
    assert.deepEqual(report.stats.segments.map((s) => [s.devices, s.count]), [[['cpu:0', 'cpu:1'], 4], [['cpu:2'], 4]]);
  });
});
