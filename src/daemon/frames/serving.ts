/**
 * What serves now: the config in force, the classifier new frames go to and the MQTT connection
 * answers go out on. The daemon swaps it whole (on a reload or a rebuild) and hands it down to the
 * parts that need it, so no part reaches back into the daemon and none sees one half swapped.
 */
import type { DaemonConfig } from '../config/config-load.js';
import type { Connection } from '../mqtt/connection.js';
import type { FrameClassifier } from './classifier.js';

export interface Serving {
  readonly config: DaemonConfig;
  readonly classifier: FrameClassifier;
  readonly connection: Connection;
}
