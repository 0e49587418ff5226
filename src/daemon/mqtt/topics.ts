/** The daemon's MQTT topics, all under `<prefix>/<node>/`. */
export interface Topics {
  readonly availability: string;
  readonly status: string;
  readonly stats: string;
  /** Config reload outcomes (`{ok, error?}`), so a rejected edit is visible on MQTT too. */
  readonly events: string;
  result(camera: string): string;
  error(camera: string): string;
}

/** Where one camera's answers go: its results and its refusals. */
export interface CameraTopics {
  readonly result: string;
  readonly error: string;
}

export function topicsFor(prefix: string, node: string): Topics {
  const base = `${prefix}/${node}`;
  return {
    availability: `${base}/availability`,
    status: `${base}/status`,
    stats: `${base}/stats`,
    events: `${base}/events`,
    result: (camera) => `${base}/camera/${camera}/result`,
    error: (camera) => `${base}/camera/${camera}/error`,
  };
}

/** What to subscribe for a frame topic: a v5 shared subscription when a group is set. */
export function frameSubscription(topic: string, sharedGroup: string | undefined): string {
  return sharedGroup === undefined ? topic : `$share/${sharedGroup}/${topic}`;
}
