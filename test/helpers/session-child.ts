/**
 * Runs one MqttSession in its own process so a test can SIGKILL it and watch the broker send the last
 * will. argv: broker url, availability topic. Prints "connected" once online.
 */
import { createLogger } from '../../src/daemon/lifecycle/logger.js';
import { MqttSession } from '../../src/daemon/mqtt/mqtt-session.js';

const [url, availabilityTopic] = process.argv.slice(2) as [string, string];
const session = new MqttSession({
  url,
  clientId: `will-test-${process.pid}`,
  keepalive: 30,
  availabilityTopic,
  subscriptions: [],
  reconnectMinMs: 100,
  reconnectMaxMs: 1000,
  maxBufferedMessages: 10,
  log: createLogger({ level: 'silent' }),
  onMessage: () => {},
});
await session.start();
process.stdout.write('connected\n');
