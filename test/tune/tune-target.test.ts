/** What tune measures on (src/tune/tune-target.ts): the devices asked for, and where segments come from for them. */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { testDataPath } from '../../src/testdata.js';
import { segmentSupply, tuneDevices, TuneTargetError } from '../../src/tune/tune-target.js';
import { readyUsbTpu } from '../helpers/fake-devices.js';

const TPUS = [readyUsbTpu(1), readyUsbTpu(2)];
const enumerate = async () => ({ devices: [...TPUS], problems: [] });
const nothing = async () => ({ devices: [], problems: [] });

describe('tune devices', () => {
  it('N CPU executors, a list as given, auto as what is present', async () => {
    assert.deepEqual(await tuneDevices(3, nothing), { ids: ['cpu:0', 'cpu:1', 'cpu:2'], edgeTpu: false });
    assert.deepEqual(await tuneDevices(['litert:0', 'tflite:0'], nothing), { ids: ['litert:0', 'tflite:0'], edgeTpu: false });
    const cores = os.availableParallelism();
    assert.deepEqual(await tuneDevices('auto', nothing), { ids: Array.from({ length: cores }, (_, i) => `cpu:${i}`), edgeTpu: false, note: `no Edge TPU ready: ${cores} CPU executor(s), one per core` });
    assert.deepEqual((await tuneDevices('auto', enumerate)).ids, TPUS.map((d) => d.id));
  });

  it('Edge TPUs by their stable ids, in the order asked; an absent one named with those present', async () => {
    assert.deepEqual(await tuneDevices(['usb:1', 'usb:0'], enumerate), { ids: [TPUS[1]!.id, TPUS[0]!.id], edgeTpu: true });
    await assert.rejects(tuneDevices(['usb:5'], enumerate), (e: unknown) => e instanceof TuneTargetError && /device "usb:5" is not present \(Edge TPUs present: usb:\/sys/.test(e.message));
    await assert.rejects(tuneDevices(['cpu:0', 'usb:0'], enumerate), /mixes CPU executors \(cpu:0\) and Edge TPUs/);
  });
});

describe('tune segment supply', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'coral-pipe-tune-target-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const edgeTpus = { ids: TPUS.map((d) => d.id), edgeTpu: true };
  const model = testDataPath('models/mobilenet_v1_0.25_128_quant.tflite');
  const options = { compiledDirs: [], workDir: dir };

  it('without a compiler, Edge TPUs take the compiled model found beside the CPU one', async () => {
    const saved = process.env.PATH;
    process.env.PATH = dir;
    try {
      const supply = await segmentSupply(model, readFileSync(model), edgeTpus, options);
      assert.match(supply.source, /^compiled sets of mobilenet_v1_0\.25_128_quant in .* \(whole\)$/);
      const whole = await supply.prepare({ replicas: [2] });
      assert.ok('files' in whole && whole.files![0]!.endsWith('mobilenet_v1_0.25_128_quant_edgetpu.tflite'));
      assert.match((await supply.prepare({ strategy: 'params', replicas: [1, 1] }) as { skip: string }).skip, /no compiled mobilenet_v1_0\.25_128_quant_segment_<0\.\.1>_of_2_edgetpu\.tflite/);
      const alone = path.join(dir, 'alone.tflite');
      copyFileSync(model, alone);
      await assert.rejects(segmentSupply(alone, readFileSync(alone), edgeTpus, options), /no complete compiled set for alone in .*: tune needs alone_edgetpu\.tflite or alone_segment_<i>_of_<N>_edgetpu\.tflite files .*or edgetpu_compiler on PATH/);
    } finally {
      process.env.PATH = saved;
    }
  });

  it('refuses a compiler that is not there, and a compiled model for CPU executors', async () => {
    await assert.rejects(segmentSupply(model, readFileSync(model), edgeTpus, { ...options, compiler: path.join(dir, 'no-compiler') }), /the compiler .*no-compiler was not found or is not executable/);
    const compiled = testDataPath('models/mobilenet_v1_0.25_128_quant_edgetpu.tflite');
    await assert.rejects(segmentSupply(compiled, readFileSync(compiled), { ids: ['cpu:0'], edgeTpu: false }, options), /is compiled for the Edge TPU and CPU executors cannot run it/);
  });
});
