/** The daemon with the real pipeline (mobilenet_v2 in 2 CPU segments) behind a real mosquitto. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { crc32, deflateSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { Daemon } from '../../src/daemon/lifecycle/daemon.js';
import { createLogger } from '../../src/daemon/lifecycle/logger.js';
import { createPipelineClassifier } from '../../src/daemon/frames/pipeline-classifier.js';
import { topicsFor } from '../../src/daemon/mqtt/topics.js';
import { testDataPath } from '../../src/testdata.js';
import { testDaemonConfig } from '../helpers/daemon-config.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { Observer } from '../helpers/mqtt-observer.js';

/** Top-1 (index, start of the label) of the official TFLite runtime, from the test data's README. */
const EXPECTED: Record<string, [number, string]> = {
  'cat.png': [286, 'Egyptian cat'],
  'cat_720p.jpg': [286, 'Egyptian cat'],
  'bird.png': [20, 'chickadee'],
  'grace_hopper.png': [653, 'military uniform'],
  'parrot.jpg': [89, 'macaw'],
  'hot_dog.jpg': [935, 'hotdog, hot dog, red hot'],
  'owl.jpg': [83, 'ruffed grouse'],
};

/** A valid PNG whose header claims 20000x20000 pixels (a decompression bomb's first bytes). */
function hugePngHeader(): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const typed = Buffer.concat([Buffer.from(type), data]);
    const out = Buffer.alloc(4 + typed.length + 4);
    out.writeUInt32BE(data.length, 0);
    typed.copy(out, 4);
    out.writeUInt32BE(crc32(typed), 4 + typed.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(20000, 0);
  ihdr.writeUInt32BE(20000, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(64))), chunk('IEND', Buffer.alloc(0))]);
}

describe('daemon end to end with the real pipeline', () => {
  let broker: Mosquitto;
  before(async () => {
    broker = await Mosquitto.start();
  });
  after(() => broker.close());

  it('answers every test image with the reference top-1 label, and each kind of bad payload with an error event', async () => {
    const images = Object.keys(EXPECTED);
    const cameras = images.map((_, i) => `  c${i}: e2e/${process.pid}/c${i}`).join('\n');
    const config = await testDaemonConfig(
      broker.url,
      [
        'cameras:',
        cameras,
        ...['truncated', 'huge', 'empty', 'text'].map((c) => `  ${c}: e2e/${process.pid}/${c}`),
        'topK: 3',
        'limits: {queueDepth: 3}',
      ].join('\n'),
    );
    const withModel = {
      ...config,
      model: { file: testDataPath('models/mobilenet_v2_1.0_224_quant.tflite'), segments: 2, labels: testDataPath('labels/imagenet_labels.txt') },
    };
    const topics = topicsFor(config.mqtt.topicPrefix, config.node);
    const observer = await Observer.connect(broker.url, [`${config.mqtt.topicPrefix}/${config.node}/camera/#`]);
    const daemon = await Daemon.start({ config: withModel, createClassifier: createPipelineClassifier, log: createLogger({ level: 'silent' }) });
    try {
      for (const [i, image] of images.entries()) await observer.client.publishAsync(`e2e/${process.pid}/c${i}`, await readFile(testDataPath(`images/${image}`)));
      const bad: Record<string, [Buffer, RegExp]> = {
        truncated: [(await readFile(testDataPath('images/parrot.jpg'))).subarray(0, 2000), /cannot decode|premature end|truncated|corrupt/i],
        huge: [hugePngHeader(), /limit of \d+ pixels|pixel limit/],
        empty: [Buffer.alloc(0), /empty/],
        text: [Buffer.from('GET / HTTP/1.1'), /not a JPEG or PNG/],
      };
      for (const [camera, [payload]] of Object.entries(bad)) await observer.client.publishAsync(`e2e/${process.pid}/${camera}`, payload);
      for (const [i, image] of images.entries()) {
        const result = JSON.parse((await observer.next((s) => s.topic === topics.result(`c${i}`), 60_000)).payload.toString());
        const [index, label] = EXPECTED[image]!;
        assert.equal(result.top[0].index, index, image);
        assert.ok(result.top[0].label.startsWith(label), `${image}: ${result.top[0].label}`);
        assert.equal(result.segments, 2);
        assert.equal(result.model.name, 'mobilenet_v2_1.0_224_quant');
        assert.ok(result.top[0].score > 0.5 && result.top[0].score <= 1, `${image}: score ${result.top[0].score}`);
      }
      for (const [camera, [, reason]] of Object.entries(bad)) {
        const error = JSON.parse((await observer.next((s) => s.topic === topics.error(camera), 60_000)).payload.toString());
        assert.match(error.reason, reason, camera);
      }
      assert.equal(daemon.cameraTotals('huge')!.errors, 1);
    } finally {
      await daemon.stop();
      await observer.close();
    }
  });
});
