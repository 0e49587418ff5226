import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, type ConfigProblem } from '../../../src/daemon/config/config-error.js';
import { defaultNodeName, resolveConfig } from '../../../src/daemon/config/config-load.js';
import { parseConfigText } from '../../../src/daemon/config/config-parse.js';
import { problemsOf } from '../../helpers/config-problems.js';

function problemAt(problems: ConfigProblem[], fieldPath: string): ConfigProblem {
  const p = problems.find((q) => q.path === fieldPath);
  assert.ok(p, `no problem for ${fieldPath} in ${JSON.stringify(problems)}`);
  return p;
}

describe('config parsing', () => {
  it('fills every default when only a model path and one camera topic are given', () => {
    const c = parseConfigText('model: m.tflite\ncameras:\n  front: cams/front\n', 'c.yaml');
    assert.deepEqual(c.model, { file: 'm.tflite' });
    assert.deepEqual(c.cameras, { front: { topics: ['cams/front'] } });
    assert.equal(c.mqtt.url, 'mqtt://localhost:1883');
    assert.equal(c.mqtt.topicPrefix, 'coral-pipe');
    assert.equal(c.mqtt.sharedGroup, undefined);
    assert.equal(c.devices, 'auto');
    assert.equal(c.limits.dropPolicy, 'newest');
    assert.ok(c.limits.maxPayloadBytes > 0 && c.statsIntervalSeconds > 0 && c.topK > 0);
  });

  it('accepts a camera as a topic list or as a full object', () => {
    const c = parseConfigText(
      'model: m.tflite\ncameras:\n  a: [x/1, x/2]\n  b:\n    topics: [y]\n    crop: {x: 1, y: 2, width: 3, height: 4}\n',
      'c.yaml',
    );
    assert.deepEqual(c.cameras.a, { topics: ['x/1', 'x/2'] });
    assert.deepEqual(c.cameras.b, { topics: ['y'], crop: { x: 1, y: 2, width: 3, height: 4 } });
  });

  it('rejects unknown keys at any depth, naming the line of the key', () => {
    const problems = problemsOf('model: m.tflite\ncameras:\n  a: x\nmqtt:\n  url: mqtt://h\n  colour: red\nextra: 1\n');
    assert.equal(problemAt(problems, 'mqtt.colour').line, 6);
    assert.match(problemAt(problems, 'mqtt.colour').message, /unknown key "colour"/);
    assert.equal(problemAt(problems, 'extra').line, 7);
  });

  it('names line, column, path and what was expected for wrong values', () => {
    const problems = problemsOf(
      ['model:', '  file: m.tflite', '  segments: 0', 'cameras:', '  a: x', 'limits:', '  dropPolicy: sometimes', 'topK: many', ''].join('\n'),
    );
    const seg = problemAt(problems, 'model.segments');
    assert.deepEqual([seg.line, seg.column], [3, 13]);
    assert.match(seg.message, /at least 1/);
    assert.equal(problemAt(problems, 'limits.dropPolicy').line, 7);
    assert.match(problemAt(problems, 'limits.dropPolicy').message, /newest/);
    assert.match(problemAt(problems, 'topK').message, /expected number, got string "many"/);
  });

  it('rejects camera ids and topic parts that hold +, #, / or NUL', () => {
    for (const bad of ['a/b', 'a+', 'a#', 'a\u0000']) {
      const asId = problemsOf(`model: m.tflite\ncameras:\n  ${JSON.stringify(bad)}: t\n`);
      assert.equal(asId.length, 1, bad);
      assert.equal(asId[0]!.line, 3);
      assert.match(asId[0]!.message, /camera id/);
      const asNode = problemsOf(`node: ${JSON.stringify(bad)}\nmodel: m.tflite\ncameras:\n  a: t\n`);
      assert.equal(problemAt(asNode, 'node').line, 1);
      const asGroup = problemsOf(`mqtt:\n  sharedGroup: ${JSON.stringify(bad)}\nmodel: m.tflite\ncameras:\n  a: t\n`);
      assert.equal(problemAt(asGroup, 'mqtt.sharedGroup').line, 2);
    }
    for (const bad of ['a/+/b', 'a/#', '$SYS/x', 'a\u0000b', '']) {
      const problems = problemsOf(`model: m.tflite\ncameras:\n  a: [ok, ${JSON.stringify(bad)}]\n`);
      assert.equal(problemAt(problems, 'cameras.a[1]').line, 3, bad);
    }
    assert.ok(problemsOf('mqtt:\n  topicPrefix: a//b\nmodel: m\ncameras: {a: t}\n').some((p) => p.path === 'mqtt.topicPrefix'));
  });

  it('reports a topic claimed by two cameras, and a device list that does not match the segments', () => {
    const problems = problemsOf('model: {file: m, segments: 2}\ncameras:\n  a: t\n  b: [u, t]\ndevices: [usb:0]\n');
    assert.equal(problemAt(problems, 'cameras.b.topics[1]').line, 4);
    assert.match(problemAt(problems, 'devices').message, /2 segment/);
  });

  it('needs exactly one of model.file and model.segmentFiles', () => {
    assert.match(problemAt(problemsOf('model: {}\ncameras: {a: t}\n'), 'model').message, /exactly one/);
    assert.match(problemAt(problemsOf('model: {file: a, segmentFiles: [b]}\ncameras: {a: t}\n'), 'model').message, /exactly one/);
  });

  it('reads JSON with line numbers too', () => {
    const c = parseConfigText('{"model": "m.tflite", "cameras": {"a": "t"}}', 'c.json');
    assert.deepEqual(c.cameras.a, { topics: ['t'] });
    const problems = problemsOf('{\n  "model": "m.tflite",\n  "cameras": {"a": 3}\n}\n');
    assert.equal(problemAt(problems, 'cameras.a').line, 3);
  });

  it('reports YAML syntax errors with their line', () => {
    const problems = problemsOf('model: m\ncameras:\n  a: [x\n');
    assert.ok(problems.length > 0 && problems.every((p) => p.line >= 3), JSON.stringify(problems));
  });
});

describe('config files', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'coral-pipe-config-'));
    await writeFile(path.join(dir, 'm.tflite'), 'x');
    await writeFile(path.join(dir, 'pw'), 's3cret\nignored\n');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('resolves paths against the config folder, reads the password file, defaults node and client id', async () => {
    const c = await resolveConfig('model: m.tflite\ncameras: {a: t}\nmqtt:\n  passwordFile: pw\n', path.join(dir, 'c.yaml'));
    assert.equal(c.model.file, path.join(dir, 'm.tflite'));
    assert.equal(c.secrets.password, 's3cret');
    assert.equal(c.node, defaultNodeName());
    assert.equal(c.mqtt.clientId, `coral-pipe-${defaultNodeName()}`);
  });

  it('names the line of every file that cannot be read', async () => {
    const text = 'model:\n  file: missing.tflite\n  labels: nolabels.txt\ncameras: {a: t}\nmqtt:\n  tls:\n    ca: noca.pem\n';
    await assert.rejects(resolveConfig(text, path.join(dir, 'c.yaml')), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(
        err.problems.map((p) => [p.path, p.line]),
        [['model.file', 2], ['model.labels', 3], ['mqtt.tls.ca', 7]],
      );
      assert.match(err.problems[0]!.message, /missing\.tflite: no such file/);
      return true;
    });
  });

  it('refuses a password given twice and a TLS cert without key', async () => {
    const text = 'model: m.tflite\ncameras: {a: t}\nmqtt:\n  password: x\n  passwordFile: pw\n';
    await assert.rejects(resolveConfig(text, path.join(dir, 'c.yaml')), /mqtt\.passwordFile: give password or passwordFile/);
    await writeFile(path.join(dir, 'cert.pem'), 'x');
    const tls = 'model: m.tflite\ncameras: {a: t}\nmqtt:\n  tls:\n    cert: cert.pem\n';
    await assert.rejects(resolveConfig(tls, path.join(dir, 'c.yaml')), /c\.yaml:5:\d+: mqtt\.tls: cert and key go together/);
  });
});

describe('model.layout', () => {
  it('names segments, cut and replicas in tune\'s words; the daemon reads them as segments, strategy and replicas', () => {
    const c = parseConfigText('model: {file: m.tflite, layout: "2 segments (latency) x [2, 1]"}\ncameras: {a: x}\ndevices: [[cpu:0, cpu:1], cpu:2]\n', 'c.yaml');
    assert.deepEqual(c.model, { file: 'm.tflite', layout: '2 segments (latency) x [2, 1]', segments: 2, strategy: 'latency', replicas: [2, 1] });
    const whole = parseConfigText('model: {segmentFiles: [m_edgetpu.tflite], layout: whole model x 2}\ncameras: {a: x}\n', 'c.yaml');
    assert.deepEqual([whole.model.segments, whole.model.strategy, whole.model.replicas, whole.devices], [1, undefined, [2], 'auto']);
  });

  it('refuses words that are no layout, a layout beside segments or strategy, and devices that disagree with it, each at its line', () => {
    const bad = problemsOf('model:\n  file: m.tflite\n  layout: 2 segmentz\ncameras: {a: x}\n');
    assert.equal(problemAt(bad, 'model.layout').line, 3);
    assert.match(problemAt(bad, 'model.layout').message, /"2 segmentz" is not a layout/);
    const both = problemsOf('model:\n  file: m.tflite\n  segments: 2\n  strategy: params\n  layout: 2 segments (params)\ncameras: {a: x}\n');
    assert.match(problemAt(both, 'model.segments').message, /model\.layout already says it: give one or the other/);
    assert.equal(problemAt(both, 'model.strategy').line, 4);
    const files = problemsOf('model: {segmentFiles: [a.tflite, b.tflite], layout: 3 segments}\ncameras: {a: x}\n');
    assert.match(problemAt(files, 'model.layout').message, /says 3 segment\(s\) but segmentFiles lists 2/);
    const devices = problemsOf('model: {file: m.tflite, layout: "2 segments (params) x [2, 1]"}\ncameras: {a: x}\ndevices:\n  - cpu:0\n  - cpu:1\n');
    const entry = problemAt(devices, 'devices[0]');
    assert.equal(entry.line, 4);
    assert.match(entry.message, /model\.layout gives segment 0 2 replica\(s\) but this entry names 1 device\(s\)/);
  });
});
