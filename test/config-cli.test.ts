import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { configJsonSchemaText } from '../src/daemon/config-schema.js';
import { testDataPath } from '../src/testdata.js';
import { projectRoot as root, runCli, type CliResult } from './helpers/cli.js';

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
