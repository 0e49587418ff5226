/**
 * 10,000 seeded hostile payloads (CORAL_PIPE_FUZZ_CASES to change) published into a running daemon
 * (mobilenet_v1_0.25 in 2 CPU segments) over a real mosquitto: nothing crashes, the connection is never
 * dropped, every payload is counted as answered, refused (error), dropped by latest-wins or expired, the
 * broker carries exactly as many results and error events as the counters say, and memory stays flat.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Logger } from 'pino';
import { Daemon } from '../../src/daemon/lifecycle/daemon.js';
import { createLogger } from '../../src/daemon/lifecycle/logger.js';
import { createPipelineClassifier } from '../../src/daemon/frames/pipeline-classifier.js';
import { topicsFor } from '../../src/daemon/mqtt/topics.js';
import { testDataPath } from '../../src/testdata.js';
import { testDaemonConfig } from '../helpers/daemon-config.js';
import { frameSeeds, fuzzFrame } from '../helpers/frame-fuzz.js';
import { memoryAfterGc, type MemoryReading } from '../helpers/heap.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { Observer, type Seen } from '../helpers/mqtt-observer.js';
import { below, prng } from '../helpers/seeded.js';
import { until } from '../helpers/fault-tools.js';

const CASES = Number(process.env.CORAL_PIPE_FUZZ_CASES ?? 10_000);
const WARM_UP = Math.min(1000, Math.floor(CASES / 10));
const SEED = 0xc0_a1_00;
const CAMERAS = ['c0', 'c1', 'c2', 'c3'];
const MAX_PAYLOAD = 64 * 1024;

/** A logger whose JSON lines are kept, to count what was logged at which level. */
function capturingLogger(): { log: Logger; lines: { level: number; msg: string }[] } {
  const lines: { level: number; msg: string }[] = [];
  const log = createLogger({ level: 'warn', destination: { write: (s: string) => void lines.push(JSON.parse(s) as { level: number; msg: string }) } });
  return { log, lines };
}

describe('daemon under fuzzed MQTT payloads', () => {
  let broker: Mosquitto;
  before(async () => {
    broker = await Mosquitto.start();
  });
  after(() => broker.close());

  it(`counts each of ${CASES} seeded hostile payloads, stays connected, and keeps memory flat`, async (t) => {
    const p = process.pid;
    const frameTopic = (cam: string) => `fuzz/${p}/${cam}`;
    const replyPrefix = `fuzzreply/${p}`;
    const base = await testDaemonConfig(
      broker.url,
      ['cameras:', ...CAMERAS.map((c) => `  ${c}: ${frameTopic(c)}`), `limits: {maxPayloadBytes: ${MAX_PAYLOAD}, queueDepth: 2}`, 'statsIntervalSeconds: 1'].join('\n'),
    );
    const config = { ...base, model: { file: testDataPath('models/mobilenet_v1_0.25_128_quant.tflite'), segments: 2 } };
    const topics = topicsFor(config.mqtt.topicPrefix, config.node);
    const { log, lines } = capturingLogger();
    const observer = await Observer.connect(broker.url, [`${config.mqtt.topicPrefix}/${config.node}/#`, `${replyPrefix}/#`]);
    const daemon = await Daemon.start({ config, createClassifier: createPipelineClassifier, log });
    t.after(() => Promise.all([daemon.stop(), observer.close()]));
    await observer.nextText(topics.availability, 'online');

    const seeds = await frameSeeds();
    const totals = () => CAMERAS.map((c) => daemon.cameraTotals(c)!);
    const sum = (k: 'answered' | 'errors' | 'dropped' | 'expired') => totals().reduce((a, x) => a + x[k], 0);
    const accounted = () => sum('answered') + sum('errors') + sum('dropped') + sum('expired');
    // Messages the broker carried, tallied and let go as they come, so the observer adds nothing to the heap.
    const carried = { results: 0, errors: 0 };
    const tally = () => {
      for (const s of observer.seen) {
        if (CAMERAS.some((c) => s.topic === topics.result(c))) carried.results++;
        if (CAMERAS.some((c) => s.topic === topics.error(c))) carried.errors++;
      }
      observer.seen.length = 0;
    };
    const kinds: Record<string, number> = {};
    let published = 0;
    let warm: MemoryReading | undefined;
    const started = performance.now();
    while (published < CASES) {
      // Bursts of 1..32 frames, then a wait until every one is accounted for: the broker's queue for a
      // QoS 0 subscriber never overflows, and the latest-wins slots still drop under each burst.
      const burst = Math.min(CASES - published, 1 + below(prng(SEED ^ published), 32));
      const first = published;
      await Promise.all(
        Array.from({ length: burst }, (_, k) => {
          const seed = SEED + first + k;
          const frame = fuzzFrame(prng(seed), seeds, MAX_PAYLOAD, replyPrefix);
          kinds[frame.kind] = (kinds[frame.kind] ?? 0) + 1;
          return observer.client.publishAsync(frameTopic(CAMERAS[seed % CAMERAS.length]!), frame.payload, { qos: 1, properties: frame.properties });
        }),
      );
      published += burst;
      await until(() => accounted() === published, () => `payloads ${first}..${published - 1} (seeds ${SEED + first}..${SEED + published - 1}) to be accounted for: ${accounted()} of ${published}, ${JSON.stringify(totals())}`);
      tally();
      if (warm === undefined && published >= WARM_UP) warm = memoryAfterGc();
    }
    const seconds = (performance.now() - started) / 1000;
    const end = memoryAfterGc();

    const counts = { published, answered: sum('answered'), errors: sum('errors'), dropped: sum('dropped'), expired: sum('expired') };
    console.log(`payload fuzz: ${JSON.stringify(counts)} in ${seconds.toFixed(1)} s; kinds ${JSON.stringify(kinds)}`);
    console.log(`payload fuzz memory: after warm-up (${WARM_UP}) ${JSON.stringify(warm)}, at the end ${JSON.stringify(end)}`);
    assert.equal(counts.answered + counts.errors + counts.dropped + counts.expired, CASES);
    // The mix must reach every outcome, or the fuzzing is not reaching the decoder or the slot.
    for (const k of ['answered', 'errors', 'dropped'] as const) assert.ok(counts[k] > CASES / 50, `${k}: ${counts[k]}`);

    // What the broker carried agrees with the counters: nothing lost, nothing published twice.
    const settled = () => (tally(), carried.results >= counts.answered && carried.errors >= counts.errors);
    await until(settled, () => `results ${carried.results}/${counts.answered} and errors ${carried.errors}/${counts.errors}`);
    // Then, per camera, a frame refused for its timestamp and a good one, sent last: once their error
    // event and result are back, so is everything the daemon published on those topics before them
    // (in order, per topic), so nothing published twice can still be on its way. The good one goes
    // after the error is back: sent at once it could displace the bad one, which is parsed (and
    // refused) only when it leaves its slot.
    const SENTINEL = 1_000_000;
    const text = (s: Seen) => s.payload.toString();
    for (const [i, c] of CAMERAS.entries()) {
      const refused = observer.next((s) => s.topic === topics.error(c) && text(s).includes(`sentinel-${c}`), 30_000);
      await observer.client.publishAsync(frameTopic(c), seeds.jpeg, { qos: 1, properties: { userProperties: { timestamp: `sentinel-${c}` } } });
      await refused;
      const answered = observer.next((s) => s.topic === topics.result(c) && (JSON.parse(text(s)) as { sequence: number }).sequence === SENTINEL + i, 30_000);
      await observer.client.publishAsync(frameTopic(c), seeds.jpeg, { qos: 1, properties: { userProperties: { sequence: String(SENTINEL + i) } } });
      await answered;
    }
    tally();
    assert.deepEqual(carried, { results: counts.answered + CAMERAS.length, errors: counts.errors + CAMERAS.length });
    assert.deepEqual({ results: sum('answered'), errors: sum('errors') }, carried);
    // The stats topic reports the same error totals.
    const stats = JSON.parse((await observer.next((s) => s.topic === topics.stats, 5000)).payload.toString()) as { cameras: Record<string, { errors: number }> };
    for (const c of CAMERAS) assert.equal(stats.cameras[c]!.errors, daemon.cameraTotals(c)!.errors, c);

    const mqtt = daemon.mqttStats();
    assert.equal(mqtt.connected, true);
    assert.equal(mqtt.reconnects, 0, 'a payload made the broker drop the daemon');
    assert.deepEqual(lines.filter((l) => l.level >= 50).map((l) => l.msg), [], 'errors logged');
    // Generous bounds: a leak of even a few bytes per payload would pass 10,000 payloads' worth.
    assert.ok(end.heapUsedMiB - warm!.heapUsedMiB < 16, `heap grew from ${warm!.heapUsedMiB} to ${end.heapUsedMiB} MiB`);
    assert.ok(end.rssMiB < warm!.rssMiB * 1.3 + 32, `RSS grew from ${warm!.rssMiB} to ${end.rssMiB} MiB`);
  });
});
