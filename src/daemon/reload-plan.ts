/**
 * What a config reload changes. The MQTT connection and node name stay as they are (a reload never
 * drops the connection), so changes to them are reported as needing a restart; a new pipeline is built
 * only when a field the classifier depends on changed.
 */
import type { DaemonConfig } from './config-load.js';

/** What a reload did, also published on the events topic. */
export interface ReloadOutcome {
  readonly ok: boolean;
  /** Why the new config was refused (the old one keeps running). */
  readonly errors?: readonly string[];
  /** Whether a new pipeline was built and swapped in. */
  readonly swappedModel?: boolean;
  /** Changed fields that only take effect on restart (the MQTT connection is never dropped by a reload). */
  readonly needsRestart?: readonly string[];
}

export interface ReloadPlan {
  /** `next` with the running connection settings kept. */
  readonly applied: DaemonConfig;
  readonly needsRestart: readonly string[];
  /** Whether `applied` needs a new classifier. */
  readonly newClassifier: boolean;
}

/** Fields whose change needs a new classifier. */
const classifierFields = (c: DaemonConfig) =>
  JSON.stringify([c.model, c.devices, c.topK, c.scoreThreshold, c.limits.maxImagePixels, c.limits.queueDepth]);

export function planReload(current: DaemonConfig, next: DaemonConfig): ReloadPlan {
  const needsRestart = [
    ...(JSON.stringify(next.mqtt) !== JSON.stringify(current.mqtt) || JSON.stringify(next.secrets) !== JSON.stringify(current.secrets) ? ['mqtt'] : []),
    ...(next.node !== current.node ? ['node'] : []),
  ];
  const applied: DaemonConfig = { ...next, mqtt: current.mqtt, node: current.node, secrets: current.secrets };
  return { applied, needsRestart, newClassifier: classifierFields(applied) !== classifierFields(current) };
}
