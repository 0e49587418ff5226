/**
 * Simulated cameras, run as a child process of the e2e benchmark (`fork`), so that on a small machine
 * they can be given a lower CPU priority: on an appliance the cameras are other machines. Each camera
 * is its own MQTT v5 client and sends its next 640x480 JPEG as soon as the broker has acknowledged the
 * last (QoS 1). Every frame carries its send time (user property `timestamp`, ms since the epoch),
 * which the daemon copies into the result, so the parent measures frame-to-result latency.
 *
 * With FPS > 0 each camera instead sends at most FPS frames a second, like a real camera.
 *
 * argv: URL TOPIC_PREFIX CAMERAS START_EPOCH_MS WINDOW_START_EPOCH_MS END_EPOCH_MS [FPS]
 * Tells the parent { ready: true } once connected, then a FleetReport when done.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { cameraFrames } from './camera-frames.js';

export interface FleetReport {
  /** Frames sent in [window start, end). */
  readonly inWindow: number;
}

const [url, prefix, count, startAt, windowAt, endAt, fpsArg] = process.argv.slice(2);
const cameras = Number(count);
const fps = Number(fpsArg ?? 0);
const [start, windowStart, end] = [Number(startAt), Number(windowAt), Number(endAt)];
if (!url || !prefix || !(cameras > 0) || !(end > windowStart && windowStart >= start) || !(fps >= 0)) {
  process.stderr.write('usage: camera-fleet URL TOPIC_PREFIX CAMERAS START_EPOCH_MS WINDOW_START_EPOCH_MS END_EPOCH_MS [FPS]\n');
  process.exit(2);
}
const frames = await cameraFrames();
const clients: MqttClient[] = [];
for (let i = 0; i < cameras; i++) clients.push(await mqtt.connectAsync(url, { protocolVersion: 5, clientId: `${prefix}-cam${i}` }));
process.send?.({ ready: true });
const sleepUntil = (epochMs: number) => new Promise((r) => setTimeout(r, Math.max(0, epochMs - Date.now())));
await sleepUntil(start);
let inWindow = 0;
await Promise.all(
  clients.map(async (client, i) => {
    const topic = `${prefix}/frames/cam${i}`;
    for (let k = i; ; k++) {
      // Paced cameras spread over the first frame interval, so that they do not all fire at once.
      if (fps > 0) await sleepUntil(start + ((k - i) + i / cameras) * (1000 / fps));
      const now = Date.now();
      if (now >= end) break;
      if (now >= windowStart) inWindow++;
      await client.publishAsync(topic, frames[k % frames.length]!, { qos: 1, properties: { userProperties: { timestamp: String(now) } } });
    }
  }),
);
await Promise.all(clients.map((c) => c.endAsync()));
const report: FleetReport = { inWindow };
process.send?.(report, () => process.exit(0));
