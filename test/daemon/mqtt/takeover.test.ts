/** Two clients with one client id on one broker: the daemon says so plainly and backs off. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MqttSession } from '../../../src/daemon/mqtt/mqtt-session.js';
import { memoryLog, until } from '../../helpers/fault-tools.js';
import { brokerAndScratchDir } from '../../helpers/mosquitto.js';

describe('MQTT client id taken over by another client', () => {
  const scratch = brokerAndScratchDir('coral-pipe-takeover-');

  it('names the conflict and stops reconnecting at the shortest delay', async () => {
    const clientId = `twin-${process.pid}`;
    const logs = [memoryLog(), memoryLog()];
    const sessions = logs.map(
      ({ log }, i) =>
        new MqttSession({
          url: scratch.broker.url,
          clientId,
          keepalive: 30,
          availabilityTopic: `twin${process.pid}/${i}/availability`,
          subscriptions: [],
          reconnectMinMs: 20,
          reconnectMaxMs: 640,
          maxBufferedMessages: 10,
          log,
          onMessage: () => {},
        }),
    );
    try {
      await Promise.all(sessions.map((s) => s.start()));
      const conflict = () => logs.flatMap((l) => l.entries).find((e) => e.event === 'mqtt-client-id-conflict');
      await until(() => conflict() !== undefined, 'a client id conflict logged', 60_000);
      assert.match(String(conflict()!.msg), new RegExp(`another MQTT client with the client id "${clientId}" is connected`));
      assert.equal(conflict()!.level, 50);
      // Each drop of a connection that did not last doubles the delay, instead of reconnecting at 20 ms.
      const delays = logs.map((l) => l.entries.filter((e) => e.event === 'mqtt-disconnected').map((e) => e.retryMs as number));
      const longest = delays.reduce((a, b) => (a.length >= b.length ? a : b));
      assert.deepEqual(longest.slice(0, 3), [20, 40, 80], `retry delays ${JSON.stringify(delays)}`);
    } finally {
      await Promise.all(sessions.map((s) => s.stop()));
    }
  });
});
