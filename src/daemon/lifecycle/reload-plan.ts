/**
 * What a config reload changes. Every field takes effect without a restart: a new pipeline is built
 * when a field the classifier depends on changed, and a new MQTT session is opened beside the old one
 * when the connection (broker, credentials, client, topics) changed; the rest applies in place.
 */
import type { DaemonConfig } from '../config/config-load.js';
import { sameConnection } from '../mqtt/connection.js';

/** What a reload did, also published on the events topic. */
export interface ReloadOutcome {
  readonly ok: boolean;
  /** Why the new config was refused (the old one keeps running). */
  readonly errors?: readonly string[];
  /** Whether a new pipeline was built and swapped in. */
  readonly swappedModel?: boolean;
  /** Present (true) when a new MQTT session replaced the old one. */
  readonly switchedMqtt?: boolean;
  /** Present (true) when nothing had changed since the config in force, so nothing was done. */
  readonly unchanged?: boolean;
}

export interface ReloadPlan {
  /** Whether the new config needs a new classifier. */
  readonly newClassifier: boolean;
  /** Whether the new config needs a new MQTT session. */
  readonly newConnection: boolean;
  /**
   * False when the new config is the one in force (field for field, files unreplaced): the second of
   * two reloads for one edit (the file watcher's and `systemctl reload`) then does nothing.
   */
  readonly changed: boolean;
}

/** Fields whose change needs a new classifier. */
const classifierFields = (c: DaemonConfig) =>
  JSON.stringify([c.model, c.modelStamp, c.devices, c.topK, c.scoreThreshold, c.limits.maxImagePixels, c.limits.queueDepth]);

/** Everything but where fields are written: moving a line or editing a comment changes nothing. */
const allFields = ({ places: _places, ...fields }: DaemonConfig) => JSON.stringify(fields);

export function planReload(current: DaemonConfig, next: DaemonConfig): ReloadPlan {
  return {
    newClassifier: classifierFields(next) !== classifierFields(current),
    newConnection: !sameConnection(current, next),
    changed: allFields(next) !== allFields(current),
  };
}
