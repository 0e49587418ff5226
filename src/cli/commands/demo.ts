import { readdir, readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { resolveConfig } from '../../daemon/config/config-load.js';
import { Daemon } from '../../daemon/lifecycle/daemon.js';
import { createLogger } from '../../daemon/lifecycle/logger.js';
import { createPipelineClassifier } from '../../daemon/frames/pipeline-classifier.js';
import { topicsFor } from '../../daemon/mqtt/topics.js';
import { testDataPath } from '../../testdata.js';

const IMAGE = /\.(jpe?g|png)$/i;

/** An MQTT broker inside this process (aedes, MQTT 3.1.1) on a free localhost port. */
async function embeddedBroker(): Promise<{ url: string; close(): Promise<void> }> {
  const { Aedes } = await import('aedes');
  const broker = await Aedes.createBroker();
  const server = net.createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    close: async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The whole product in one command: broker, daemon, cameras publishing the test images, results printed. */
const demo: Command = {
  name: 'demo',
  summary: 'Classify the test images through the daemon and an MQTT broker, all on this machine',
  usage: 'coral-pipe demo [--data DIR] [--broker URL] [--segments N] [--verbose]',
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        data: { type: 'string' },
        broker: { type: 'string' },
        segments: { type: 'string', default: '2' },
        verbose: { type: 'boolean', default: false },
      },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const segments = Number(values.segments);
    if (!Number.isInteger(segments) || segments < 1) throw new UsageError(`--segments must be a positive integer, got ${values.segments}`);
    const data = values.data === undefined ? testDataPath() : path.resolve(values.data);
    const model = path.join(data, 'models/mobilenet_v2_1.0_224_quant.tflite');
    const images = (await readdir(path.join(data, 'images'))).filter((f) => IMAGE.test(f)).sort();
    if (images.length === 0) throw new Error(`no JPEG or PNG images in ${path.join(data, 'images')}`);

    const broker = values.broker === undefined ? await embeddedBroker() : { url: values.broker, close: async () => {} };
    // Camera i is `img<i>`: one camera per image, so latest-wins never drops one of them.
    const cameraOf = new Map(images.map((image, i) => [`img${i}`, image]));
    const yaml = [
      'node: demo',
      `mqtt: {url: ${JSON.stringify(broker.url)}, clientId: coral-pipe-demo-${process.pid}}`,
      `model: {file: ${JSON.stringify(model)}, segments: ${segments}, labels: ${JSON.stringify(path.join(data, 'labels/imagenet_labels.txt'))}}`,
      'cameras:',
      ...[...cameraOf.keys()].map((id) => `  ${id}: demo/${id}`),
      'topK: 3',
      '',
    ].join('\n');
    // Logs go to stderr so that stdout holds only the classifications.
    const log = createLogger({ level: values.verbose ? 'info' : 'error', destination: pino.destination({ dest: 2, sync: true }) });
    let daemon: Daemon | undefined;
    let client: import('mqtt').MqttClient | undefined;
    try {
      const config = await resolveConfig(yaml, path.join(data, 'demo.yaml'));
      daemon = await Daemon.start({ config, createClassifier: createPipelineClassifier, log });
      const topics = topicsFor(config.mqtt.topicPrefix, config.node);
      const mqtt = await import('mqtt');
      // A 3.1.1 client: the embedded broker speaks nothing newer.
      client = await mqtt.connectAsync(broker.url, { protocolVersion: 4, clientId: `coral-pipe-demo-camera-${process.pid}` });
      await client.subscribeAsync([topics.result('+'), topics.error('+')], { qos: 1 });
      const pending = new Set(cameraOf.keys());
      let failures = 0;
      const answered = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no answer within 120 s for: ${[...pending].map((c) => cameraOf.get(c)).join(', ')}`)), 120_000);
        client!.on('message', (topic, payload) => {
          const body = JSON.parse(payload.toString()) as { camera: string; top?: { label: string; score: number }[]; error?: string; latencyMs?: { total: number } };
          if (!pending.delete(body.camera)) return;
          const image = cameraOf.get(body.camera);
          if (topic === topics.error(body.camera)) {
            failures++;
            process.stdout.write(`${image}: error: ${body.error}\n`);
          } else {
            const top = body.top!.map((c) => `${c.label} (${c.score.toFixed(2)})`).join(', ');
            process.stdout.write(`${image}: ${top}  [${body.latencyMs!.total.toFixed(1)} ms]\n`);
          }
          if (pending.size === 0) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      process.stdout.write(`mobilenet_v2 in ${segments} segment(s) on CPU, broker ${broker.url}, ${images.length} images\n`);
      for (const [camera, image] of cameraOf) await client.publishAsync(`demo/${camera}`, await readFile(path.join(data, 'images', image)), { qos: 0 });
      await answered;
      return failures === 0 ? 0 : 1;
    } finally {
      await client?.endAsync();
      await daemon?.stop();
      await broker.close();
    }
  },
};
export default demo;
