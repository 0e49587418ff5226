import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { configJsonSchemaText } from '../../src/daemon/config/config-schema.js';
import { isEdgeTpu } from '../../src/devices/device.js';
import { enumerateDevices } from '../../src/devices/enumerate.js';
import { testDataPath } from '../../src/testdata.js';
import { cliPath, projectRoot as root, runCli, runProcess, type CliResult } from '../helpers/cli.js';

const checkConfig = (...args: string[]): Promise<CliResult> => runCli('check-config', ...args);

describe('coral-pipe check-config', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'coral-pipe-check-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('accepts the shipped example once its model and labels folders exist', async () => {
    // The example names models/ and labels/ beside itself, as install.sh lays them out.
    await copyFile(path.join(root, 'config/coral-pipe.yaml'), path.join(dir, 'coral-pipe.yaml'));
    await symlink(testDataPath('models'), path.join(dir, 'models'));
    await symlink(testDataPath('labels'), path.join(dir, 'labels'));
    const r = await checkConfig(path.join(dir, 'coral-pipe.yaml'));
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /ok .*2 cameras/);
  });

  it('prints one line per problem with file:line:column, the field path and what was expected; exit 1', async () => {
    const file = path.join(dir, 'bad.yaml');
    await writeFile(file, 'model: m.tflite\ncameras:\n  front: t\nmqtt:\n  keepalive: soon\n  qos: 2\n');
    const r = await checkConfig(file);
    assert.equal(r.code, 1);
    assert.deepEqual(r.stderr.trim().split('\n'), [
      `${file}:5:14: mqtt.keepalive: expected number, got string "soon"`,
      `${file}:6:3: mqtt.qos: unknown key "qos"`,
    ]);
  });

  describe('checks the model as the daemon will: refuses one that cannot serve, at the config line naming it', () => {
    /** Writes a config whose model (line 2) and labels (line 3) are these files; returns its path. */
    const configFor = async (name: string, modelFile: string, labelsFile = testDataPath('labels/imagenet_labels.txt')) => {
      const file = path.join(dir, `${name}.yaml`);
      await writeFile(file, `model:\n  file: ${JSON.stringify(modelFile)}\n  labels: ${JSON.stringify(labelsFile)}\ncameras:\n  a: t\n`);
      return file;
    };
    const refused = async (file: string, message: RegExp) => {
      const r = await checkConfig(file);
      assert.equal(r.code, 1, r.stdout);
      assert.equal(r.stdout, '');
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, message);
    };
    const at = (file: string, line: number, field: string) => `^${file.replace(/[.]/g, '\\.')}:${line}:\\d+: ${field.replace(/[.[\]]/g, '\\$&')}: `;

    it('a JPEG named .tflite: the path, and what is wrong with it', async () => {
      const fake = path.join(dir, 'photo.tflite');
      await copyFile(testDataPath('images/parrot.jpg'), fake);
      const file = await configFor('jpeg', fake);
      await refused(file, new RegExp(`${at(file, 2, 'model.file')}${fake.replace(/[.]/g, '\\.')}: invalid TFLite model at byte 4: file identifier is .*, expected "TFL3"$`));
    });

    it('an Edge TPU compiled model on this machine, which has no Edge TPU', async (t) => {
      // The same enumeration check-config does; no machine of this project has one.
      if ((await enumerateDevices()).devices.some(isEdgeTpu)) return t.skip('an Edge TPU is present here');
      const model = testDataPath('models/mobilenet_v1_0.25_128_quant_edgetpu.tflite');
      const file = await configFor('edgetpu', model);
      await refused(file, new RegExp(`${at(file, 2, 'model.file')}.*_edgetpu\\.tflite holds custom op "edgetpu-custom-op" .*needs an Edge TPU.*0 usable Edge TPU`));
    });

    it('deeplab, whose output is a segmentation map, not class scores', async () => {
      const file = await configFor('deeplab', testDataPath('models/deeplabv3_mnv2_dm05_pascal_quant.tflite'), testDataPath('labels/pascal_voc_segmentation_labels.txt'));
      await refused(file, new RegExp(`${at(file, 2, 'model.file')}.*deeplabv3_mnv2_dm05_pascal_quant\\.tflite: cannot serve as an image classifier: output "ArgMax" has shape \\[1, 513, 513\\], not a vector`));
    });

    it('labels whose count does not fit the output', async () => {
      const labels = path.join(dir, 'birds.txt');
      await writeFile(labels, Array.from({ length: 965 }, (_, i) => `bird ${i}`).join('\n'));
      const file = await configFor('birds', testDataPath('models/mobilenet_v2_1.0_224_quant.tflite'), labels);
      await refused(file, new RegExp(`${at(file, 3, 'model.labels')}${labels.replace(/[.]/g, '\\.')} has 965 labels but the model's output has 1001 classes`));
    });

    it('but accepts 1000 labels on 1001 outputs by the background rule, with a note saying so', async () => {
      const labels = path.join(dir, 'imagenet-1000.txt');
      await writeFile(labels, (await readFile(testDataPath('labels/imagenet_labels.txt'), 'utf8')).split('\n').slice(1).join('\n'));
      const r = await checkConfig(await configFor('offset', testDataPath('models/mobilenet_v2_1.0_224_quant.tflite'), labels));
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /: ok /);
      assert.match(r.stderr, /^note: .*imagenet-1000\.txt has 1000 labels for 1001 outputs: .*output 0 is "background"[^\n]*\n$/);
    });
  });

  it('warns about files the systemd unit hides from the service (PrivateTmp=, ProtectHome=), which the daemon names too', async () => {
    // The config where the unit can see it (not in /tmp); the labels it names in /tmp, where the unit cannot.
    const visible = await mkdtemp(path.join(root, 'dist', 'check-visible-'));
    const hidden = await mkdtemp('/tmp/coral-pipe-hidden-');
    try {
      const labels = path.join(hidden, 'labels.txt');
      await copyFile(testDataPath('labels/imagenet_labels.txt'), labels);
      const file = path.join(visible, 'c.yaml');
      await writeFile(file, `model: {file: ${JSON.stringify(testDataPath('models/mobilenet_v2_1.0_224_quant.tflite'))}, labels: ${JSON.stringify(labels)}}\ncameras: {a: x}\n`);
      const r = await checkConfig(file);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, `warning: ${file}: model.labels: ${labels} is out of the systemd unit's sight (PrivateTmp=yes gives the service an empty /tmp and /var/tmp of its own); keep it under /etc/coral-pipe\n`);

      // Inside the unit ($INVOCATION_ID set by systemd) the file is missing, and the error says why.
      await rm(labels);
      const inUnit = await runProcess(process.execPath, [cliPath, 'check-config', file], { env: { ...process.env, INVOCATION_ID: 'test' } });
      assert.equal(inUnit.code, 1);
      assert.match(inUnit.stderr, /model\.labels: cannot read \/tmp\/.*labels\.txt: no such file \(the coral-pipe unit's PrivateTmp=yes gives the service an empty \/tmp/);
    } finally {
      await Promise.all([rm(visible, { recursive: true, force: true }), rm(hidden, { recursive: true, force: true })]);
    }
  });

  it('exits 2 with usage on bad arguments', async () => {
    const r = await checkConfig();
    assert.equal(r.code, 2);
    assert.match(r.stderr, /usage: coral-pipe check-config FILE/);
  });

  it('ships a JSON Schema equal to the one the zod schema generates', async () => {
    const shipped = await readFile(path.join(root, 'config/coral-pipe.schema.json'), 'utf8');
    assert.equal(shipped, configJsonSchemaText(), 'regenerate with: coral-pipe check-config --schema > config/coral-pipe.schema.json');
    const printed = await checkConfig('--schema');
    assert.equal(printed.stdout, shipped);
    const schema = JSON.parse(shipped) as { additionalProperties: boolean; required: string[] };
    assert.equal(schema.additionalProperties, false);
    assert.deepEqual(schema.required.sort(), ['cameras', 'model']);
  });
});
