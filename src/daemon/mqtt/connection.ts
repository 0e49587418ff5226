/**
 * The daemon's MQTT connection: the session settings and topics a config asks for, and the pair the
 * daemon publishes through now (a reload that changes them opens a new pair beside it: session-switch.ts).
 */
import type { DaemonConfig } from '../config/config-load.js';
import type { MqttSession, SessionOptions } from './mqtt-session.js';
import { topicsFor, type Topics } from './topics.js';

export interface Connection {
  readonly session: MqttSession;
  readonly topics: Topics;
}

/** What a config says about the connection itself: a change in any of it needs a new session. */
export type ConnectionSettings = Omit<SessionOptions, 'subscriptions' | 'log' | 'onMessage' | 'onConnect'>;

export function connectionSettings(config: DaemonConfig): ConnectionSettings {
  const m = config.mqtt;
  const topics = topicsFor(m.topicPrefix, config.node);
  return {
    url: m.url,
    clientId: m.clientId,
    ...(m.username !== undefined && { username: m.username }),
    ...config.secrets,
    keepalive: m.keepalive,
    availabilityTopic: topics.availability,
    statusWill: { topic: topics.status, payload: JSON.stringify({ node: config.node, state: 'offline' }) },
    reconnectMinMs: m.reconnectMinMs,
    reconnectMaxMs: m.reconnectMaxMs,
    maxBufferedMessages: m.maxBufferedMessages,
  };
}

/**
 * Whether two configs ask for the same connection. Compares what is sent to the broker (the password
 * and TLS files' contents, not the file names); result QoS, expiry and the shared group are applied on
 * the running session.
 */
export function sameConnection(a: DaemonConfig, b: DaemonConfig): boolean {
  return JSON.stringify(connectionSettings(a)) === JSON.stringify(connectionSettings(b));
}
