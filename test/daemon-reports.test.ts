/** What the daemon says about itself over MQTT: stats on their cadence, status, error events. */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/daemon/config-load.js';
import { Daemon } from '../src/daemon/daemon.js';
import { createLogger } from '../src/daemon/logger.js';
import { topicsFor } from '../src/daemon/topics.js';
import { testDataPath } from '../src/testdata.js';
import { FakeClassifier } from './helpers/fake-classifier.js';
import { until } from './helpers/fault-tools.js';
import { brokerAndScratchDir } from './helpers/mosquitto.js';
import { Observer } from './helpers/mqtt-observer.js';

const log = createLogger({ level: 'silent' });

describe('daemon reports', () => {
  const scratch = brokerAndScratchDir('coral-pipe-reports-');
  let n = 0;

  /** A daemon on a config file with the fake classifier, and an observer of all it publishes. */
  async function start(extra: string) {
    const node = `reports-${process.pid}-${++n}`;
    const file = path.join(scratch.dir, `${node}.yaml`);
    await writeFile(file, [`node: ${node}`, `mqtt: {url: "${scratch.broker.url}", topicPrefix: rp}`, `model: ${JSON.stringify(testDataPath('models/mobilenet_v2_1.0_224_quant.tflite'))}`, `cameras: {a: rp/${node}/a}`, extra, ''].join('\n'));
    const topics = topicsFor('rp', node);
    const observer = await Observer.connect(scratch.broker.url, [`rp/${node}/#`]);
    const daemon = await Daemon.start({ config: await loadConfig(file), createClassifier: async () => new FakeClassifier(), log });
    return { daemon, observer, topics, file, node };
  }

  it('keeps the stats cadence however often the config reloads', async (t) => {
    const { daemon, observer, topics } = await start('statsIntervalSeconds: 1');
    t.after(() => Promise.all([daemon.stop(), observer.close()]));
    const stats = () => observer.seen.filter((s) => s.topic === topics.stats).length;
    const before = stats();
    // Reloads far more often than the interval: each used to restart the stats timer, so none went out.
    let reloads = 0;
    const reloading = (async () => {
      while (stats() < before + 3) {
        assert.equal((await daemon.reloadFile()).ok, true);
        reloads++;
      }
    })();
    await until(() => stats() >= before + 3, () => `3 stats messages during ${reloads} reloads`, 30_000);
    await reloading;
    assert.ok(reloads > 3, `only ${reloads} reloads: the test did not reload more often than the interval`);
  });
});
