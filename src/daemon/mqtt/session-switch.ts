/**
 * Moving the daemon to a new MQTT connection on a reload without going off the air: the new session
 * connects beside the old one, which keeps serving until the new one is connected and subscribed (or
 * the attempt is given up, leaving the old one as it was); then the old one says `stopped` and ends.
 *
 * Both may use one client id on one broker, which MQTT allows only once: the broker then moves the
 * connection to the new session and publishes the old one's last will (`offline`). So meanwhile the old
 * session must not reconnect and take the id back, and afterwards the new session says `stopped` for it.
 */
import type { Connection } from './connection.js';
import { redactUrl } from './mqtt-session.js';

/** A new MQTT connection that did not come up; the message names the URL (password hidden) and why. */
export class MqttConnectError extends Error {
  override readonly name = 'MqttConnectError';

  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`cannot connect to MQTT broker ${url}: ${reason}`);
  }
}

/**
 * Starts `next` beside `current` and resolves once it is connected and subscribed. After `timeoutMs`,
 * or when `signal` aborts (the daemon stops), it stops `next` and throws MqttConnectError; `current`
 * then serves on as before.
 */
export async function connectBeside(current: Connection, next: Connection, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const release = current.session.clientId === next.session.clientId ? current.session.holdReconnects() : undefined;
  let timer: NodeJS.Timeout | undefined;
  let onAbort = () => {};
  const givenUp = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`not connected within ${timeoutMs / 1000} s`), timeoutMs);
    onAbort = () => resolve('the daemon is stopping');
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  const connected = next.session.start().then(
    () => undefined,
    (err: Error) => String(err.message ?? err),
  );
  try {
    const failure = await Promise.race([connected, givenUp]);
    if (failure === undefined) return;
    await next.session.stop();
    release?.();
    const reason = next.session.lastError === undefined ? failure : `${next.session.lastError} (${failure})`;
    throw new MqttConnectError(redactUrl(next.session.url), reason);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Ends `old` once `next` serves: it says `stopped` and disconnects; what it could not send goes out on
 * `next`, which says `online` last (so a `stopped` on a shared topic cannot outlive it).
 */
export async function retire(old: Connection, next: Connection): Promise<void> {
  // Not acknowledged: the broker took the connection (the takeover may be noticed only mid-stop).
  const saidStopped = await old.session.stop();
  for (const message of old.session.takeUnsent()) next.session.publish(message);
  const movedByBroker = !saidStopped && old.session.clientId === next.session.clientId;
  if (movedByBroker && old.topics.availability !== next.topics.availability)
    next.session.publish({ topic: old.topics.availability, payload: 'stopped', qos: 1, retain: true });
  next.session.announce();
}
