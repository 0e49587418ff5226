/** Daemon configs for tests: YAML text through the real loader, pointed at a test broker. */
import path from 'node:path';
import { resolveConfig, type DaemonConfig } from '../../src/daemon/config/config-load.js';
import { testDataPath } from '../../src/testdata.js';

let count = 0;

/** A config for `url` with the given extra YAML lines (top-level keys other than mqtt/model/node). */
export async function testDaemonConfig(url: string, yaml: string, mqttYaml = ''): Promise<DaemonConfig> {
  const text = [
    `node: test-${process.pid}-${++count}`,
    `model: ${JSON.stringify(testDataPath('models/mobilenet_v2_1.0_224_quant.tflite'))}`,
    'mqtt:',
    `  url: ${url}`,
    `  topicPrefix: t${process.pid}`,
    '  reconnectMinMs: 50',
    '  reconnectMaxMs: 400',
    ...mqttYaml.split('\n').filter((l) => l !== '').map((l) => `  ${l}`),
    yaml,
  ].join('\n');
  return resolveConfig(text, path.join(process.cwd(), 'test.yaml'));
}
