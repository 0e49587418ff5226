/**
 * Simulated cameras, run as a child process of the e2e benchmark (`fork`), so that on a small machine
 * they can be given a lower CPU priority: on an appliance the cameras are other machines. Each camera
 * is its own MQTT v5 client and sends its next 640x480 JPEG as soon as the broker has acknowledged the
 * last (QoS 1). Every frame carries its send time (user property `timestamp`, ms since the epoch),
 * which the daemon copies into the result, so the parent measures frame-to-result latency.
 *
 * With FPS > 0 each camera instead sends at most FPS frames a second, like a real camera.
 *
 * argv: URL TOPIC_PREFIX CAMERAS [FPS [WIDTH HEIGHT]] (640x480 by default)
 * Tells the parent { ready: true } once connected; the parent answers with a FleetSchedule (so that a
 * slow machine's connecting eats into no one's measurement); a FleetReport when done.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { cameraFrames } from './camera-frames.js';

/** When to start, to start counting and to stop, in ms since the epoch (one clock for all cameras). */
export interface FleetSchedule {
  readonly start: number;
  readonly windowStart: number;
  readonly end: number;
}

export interface FleetReport {
  /** Frames sent in [window start, end). */
  readonly inWindow: number;
}

const [url, prefix, count, fpsArg, widthArg, heightArg] = process.argv.slice(2);
const cameras = Number(count);
const fps = Number(fpsArg ?? 0);
const [width, height] = [Number(widthArg ?? 640), Number(heightArg ?? 480)];
if (!url || !prefix || !(cameras > 0) || !(fps >= 0) || !(width > 0) || !(height > 0)) {
  process.stderr.write('usage: camera-fleet URL TOPIC_PREFIX CAMERAS [FPS [WIDTH HEIGHT]]\n');
  process.exit(2);
}
const frames = await cameraFrames(width, height);
const clients: MqttClient[] = [];
for (let i = 0; i < cameras; i++) clients.push(await mqtt.connectAsync(url, { protocolVersion: 5, clientId: `${prefix}-cam${i}` }));
const scheduled = new Promise<FleetSchedule>((resolve) => process.once('message', (m) => resolve(m as FleetSchedule)));
process.send?.({ ready: true });
const { start, windowStart, end } = await scheduled;
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
