/**
 * Home Assistant MQTT discovery (opt-in: `homeAssistant.discovery`), so the appliance's sensors appear
 * in Home Assistant without YAML: one sensor per camera whose state is the top-1 label of its results,
 * and one for the pipeline's state, on one device named after the node.
 *
 * Configs go out through the session's retained state, so every reconnect repeats them; Home
 * Assistant's birth message (`online` on `<discoveryPrefix>/status`) makes them go out again. A config
 * topic a reload leaves behind (camera removed, node or discovery prefix changed, discovery turned off)
 * gets an empty retained payload, which makes Home Assistant delete that entity.
 */
import { packageVersion } from '../../package-version.js';
import type { DaemonConfig } from '../config/config-load.js';
import type { Connection } from './connection.js';
import type { IncomingMessage } from './mqtt-session.js';
import { topicsFor } from './topics.js';

/** The camera's top-1 label (frame-path.ts writes `top`); `none` when the score threshold left nothing. */
const TOP_LABEL = "{{ value_json.top[0].label if value_json.top else 'none' }}";
const RESULT_ATTRIBUTES =
  '{{ {"score": value_json.top[0].score if value_json.top else none, "top": value_json.top, ' +
  '"model": value_json.model.name, "timestamp": value_json.timestamp} | tojson }}';
/** status-reports.ts writes `state`: running, failed, cannot-serve or stopped. */
const PIPELINE_STATE = '{{ value_json.state }}';
const PIPELINE_ATTRIBUTES = '{{ {"model": value_json.model.name, "segments": value_json.segments, "devices": value_json.devices} | tojson }}';
/** Home Assistant takes one "not available" payload, and a clean stop says `stopped`, not `offline`. */
const AVAILABLE = "{{ 'online' if value == 'online' else 'offline' }}";

/** Home Assistant allows only these characters in a discovery topic's node and object ids. */
const topicId = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, '_');
/** An entity id's object part: lower-case letters, digits and `_`. */
const entitySlug = (s: string) => s.toLowerCase().replace(/[^a-z0-9_]+/g, '_');

/** Where Home Assistant says `online` when it starts; undefined while discovery is off. */
export function birthTopic(config: DaemonConfig): string | undefined {
  const ha = config.homeAssistant;
  return ha.discovery ? `${ha.discoveryPrefix}/status` : undefined;
}

/** What to subscribe for discovery: the birth topic, never shared (every appliance must hear it). */
export function discoverySubscriptions(config: DaemonConfig): string[] {
  const birth = birthTopic(config);
  return birth === undefined ? [] : [birth];
}

/** Config topic -> config JSON of every entity `config` announces; none while discovery is off. */
export function discoveryConfigs(config: DaemonConfig): Map<string, string> {
  const configs = new Map<string, string>();
  const ha = config.homeAssistant;
  if (!ha.discovery) return configs;
  const topics = topicsFor(config.mqtt.topicPrefix, config.node);
  const base = `${ha.discoveryPrefix}/sensor/${topicId(config.node)}`;
  const entityBase = `sensor.coral_pipe_${entitySlug(config.node)}`;
  const version = packageVersion();
  const shared = {
    availability: [{ topic: topics.availability, value_template: AVAILABLE, payload_available: 'online', payload_not_available: 'offline' }],
    device: {
      identifiers: [`coral-pipe:${config.node}`],
      name: `coral-pipe ${config.node}`,
      model: 'coral-pipe',
      ...(version !== undefined && { sw_version: version }),
    },
    origin: { name: 'coral-pipe', ...(version !== undefined && { sw_version: version }) },
  };
  // `camera_` keeps a camera named "pipeline" apart from the pipeline sensor; camera ids are already topic-safe.
  for (const id of Object.keys(config.cameras)) {
    const result = topics.result(id);
    const entity = {
      name: id,
      unique_id: `coral-pipe:${config.node}:camera:${id}`,
      default_entity_id: `${entityBase}_camera_${entitySlug(id)}`,
      icon: 'mdi:cctv',
      state_topic: result,
      value_template: TOP_LABEL,
      json_attributes_topic: result,
      json_attributes_template: RESULT_ATTRIBUTES,
      ...shared,
    };
    configs.set(`${base}/camera_${id}/config`, JSON.stringify(entity));
  }
  const pipeline = {
    name: 'Pipeline',
    unique_id: `coral-pipe:${config.node}:pipeline`,
    default_entity_id: `${entityBase}_pipeline`,
    icon: 'mdi:chip',
    state_topic: topics.status,
    value_template: PIPELINE_STATE,
    json_attributes_topic: topics.status,
    json_attributes_template: PIPELINE_ATTRIBUTES,
    ...shared,
  };
  configs.set(`${base}/pipeline/config`, JSON.stringify(pipeline));
  return configs;
}

export class HomeAssistantDiscovery {
  /** Config topics announced so far, so that those a reload leaves behind can be deleted. */
  private announced = new Set<string>();

  /** Announces the entities of `config` on `connection` and deletes those announced before that it no longer has. */
  publish(config: DaemonConfig, { session }: Connection): void {
    const configs = discoveryConfigs(config);
    // Retained, not just sent: the session's republish after a reconnect must repeat the deletion, not the old config.
    for (const topic of this.announced) if (!configs.has(topic)) session.publishRetained({ topic, payload: '', qos: 1 });
    for (const [topic, payload] of configs)
      session.publishRetained({ topic, payload, qos: 1, properties: { contentType: 'application/json' } });
    this.announced = new Set(configs.keys());
  }

  /** A message on Home Assistant's birth topic (birthTopic): `online` there announces everything again. */
  birth(message: IncomingMessage, config: DaemonConfig, connection: Connection): void {
    if (message.payload.toString() === 'online') this.publish(config, connection);
  }
}
