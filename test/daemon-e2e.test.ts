/** The daemon with the real pipeline (mobilenet_v2 in 2 CPU segments) behind a real mosquitto. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { Daemon } from '../src/daemon/daemon.js';
import { createLogger } from '../src/daemon/logger.js';
import { createPipelineClassifier } from '../src/daemon/pipeline-classifier.js';
import { topicsFor } from '../src/daemon/topics.js';
import { testDataPath } from '../src/testdata.js';
import { testDaemonConfig } from './helpers/daemon-config.js';
import { Mosquitto } from './helpers/mosquitto.js';
import { Observer } from './helpers/mqtt-observer.js';

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

describe('daemon end to end with the real pipeline', () => {
  let broker: Mosquitto;
  before(async () => {
    broker = await Mosquitto.start();
  });
  after(() => broker.close());

  it('answers every test image with the reference top-1 label, and a bad frame with an error event', async () => {
    const images = Object.keys(EXPECTED);
    const cameras = images.map((_, i) => `  c${i}: e2e/${process.pid}/c${i}`).join('\n');
    const config = await testDaemonConfig(
      broker.url,
      [
        'cameras:',
        cameras,
        `  bad: e2e/${process.pid}/bad`,
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
      const truncated = (await readFile(testDataPath('images/parrot.jpg'))).subarray(0, 2000);
      await observer.client.publishAsync(`e2e/${process.pid}/bad`, truncated);
      for (const [i, image] of images.entries()) {
        const result = JSON.parse((await observer.next((s) => s.topic === topics.result(`c${i}`), 60_000)).payload.toString());
        const [index, label] = EXPECTED[image]!;
        assert.equal(result.top[0].index, index, image);
        assert.ok(result.top[0].label.startsWith(label), `${image}: ${result.top[0].label}`);
        assert.equal(result.segments, 2);
        assert.equal(result.model.name, 'mobilenet_v2_1.0_224_quant');
        assert.ok(result.top[0].score > 0.5 && result.top[0].score <= 1, `${image}: score ${result.top[0].score}`);
      }
      const error = JSON.parse((await observer.next((s) => s.topic === topics.error('bad'), 60_000)).payload.toString());
      assert.match(error.error, /cannot decode|premature end|truncated|corrupt/i);
    } finally {
      await daemon.stop();
      await observer.close();
    }
  });
});
