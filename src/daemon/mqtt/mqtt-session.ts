/**
 * The daemon's MQTT connection (a reload may open a second one beside it for a moment): MQTT v5
 * (falling back to 3.1.1 when the broker refuses v5), availability with a last will, retained state
 * republished on every connect, reconnects with exponential backoff, and a bounded outbox while
 * disconnected. Callers publish and never wait on the broker, so a broker outage cannot stall the frame path.
 */
import { randomBytes } from 'node:crypto';
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { Outbox } from './outbox.js';

export type Qos = 0 | 1 | 2;
export type PublishProperties = NonNullable<IPublishPacket['properties']>;

export interface OutgoingMessage {
  readonly topic: string;
  readonly payload: string | Buffer;
  readonly qos: Qos;
  readonly retain?: boolean;
  /** MQTT v5 properties; left out when talking 3.1.1. */
  readonly properties?: PublishProperties;
}

export interface IncomingMessage {
  readonly topic: string;
  readonly payload: Buffer;
  /** MQTT v5 properties (empty under 3.1.1). */
  readonly properties: PublishProperties;
}

export interface SessionOptions {
  readonly url: string;
  readonly clientId: string;
  readonly username?: string;
  readonly password?: string;
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly keepalive: number;
  /** Gets `offline` as the last will, `online` after each connect, `stopped` on a clean stop. */
  readonly availabilityTopic: string;
  /**
   * A second last will, published retained if the process dies or loses the broker: a companion
   * connection (a client id of its own) holds it, since a connection has one will and availability's
   * `offline` is this one's. So the retained status says what availability says after a crash too.
   */
  readonly statusWill?: { readonly topic: string; readonly payload: string };
  /** Topic filters subscribed (again) on every connect, QoS 0: frames are only useful fresh. */
  readonly subscriptions: readonly string[];
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  readonly maxBufferedMessages: number;
  readonly log: Logger;
  /** Each message received, with the session it came on (during a switch two sessions may receive). */
  readonly onMessage: (message: IncomingMessage, session: MqttSession) => void;
  /** Called after each (re)connect has republished retained state. */
  readonly onConnect?: () => void;
}

export interface SessionStats {
  readonly connected: boolean;
  readonly protocolVersion: 4 | 5;
  /** Successful connects after the first. */
  readonly reconnects: number;
  /** Messages waiting for the broker to come back. */
  readonly buffered: number;
  /** Messages dropped because the outbox was full. */
  readonly dropped: number;
}

/** `url` fit for messages: a password written in it is replaced by `***`. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === '') return url;
    parsed.password = '***';
    return parsed.toString();
  } catch {
    // Unparseable: show no more than scheme and host part, never what may follow an `@`.
    return url.replace(/\/\/[^/@]*@/, '//***@');
  }
}

/** CONNACK codes by which a broker says it does not speak MQTT v5: 3.1.1's 1 and v5's 0x84. */
const REFUSED_PROTOCOL = new Set([1, 0x84]);
/** How long a stop waits for the broker to acknowledge `stopped`. */
const STOP_ACK_MS = 2000;
/** How long `online` waits for the status will's connection before going out without it. */
const COMPANION_WAIT_MS = 5000;
/** MQTT v5 DISCONNECT reason: another connection with this client id took the session. */
const SESSION_TAKEN_OVER = 0x8e;
/**
 * Connections the broker drops soon after accepting them, without an error, this many times in a row:
 * what two clients with one client id look like on a broker that says nothing (MQTT 3.1.1, mosquitto).
 */
const TAKEOVER_STREAK = 3;

/** A connection that lasted this long was a working one: the reconnect backoff starts over after it. */
function stableAfterMs(o: SessionOptions): number {
  return Math.max(2 * o.reconnectMaxMs, 10_000);
}

export class MqttSession {
  private client: MqttClient | undefined;
  /** Holds `statusWill` (opened after the first connect, when the protocol version is known); reconnects by itself. */
  private companion: MqttClient | undefined;
  private version: 4 | 5 = 5;
  private readonly retained = new Map<string, OutgoingMessage>();
  private readonly outbox: Outbox<OutgoingMessage>;
  private connects = 0;
  /** Failed or short-lived connections in a row: the reconnect backoff doubles with each. */
  private failures = 0;
  private connectedAt = 0;
  /** Connections in a row dropped by the broker soon after connecting (see TAKEOVER_STREAK). */
  private shortDrops = 0;
  private takenOver = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private firstConnect: { resolve: () => void; promise: Promise<void> };
  private subscriptions: readonly string[];
  /** Set by holdReconnects(): a dropped connection then waits for the release instead of reconnecting. */
  private held = false;
  private reconnectDue = false;
  private lastConnectError: string | undefined;

  constructor(private readonly options: SessionOptions) {
    this.subscriptions = options.subscriptions;
    this.outbox = new Outbox(options.maxBufferedMessages);
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.firstConnect = { resolve, promise };
  }

  /** Connects; resolves once connected and retained state is out (it keeps retrying until then). */
  async start(): Promise<void> {
    this.open();
    return this.firstConnect.promise;
  }

  get url(): string {
    return this.options.url;
  }

  get clientId(): string {
    return this.options.clientId;
  }

  /** The last error the connection reported (unreachable host, refused login, TLS), cleared on connect. */
  get lastError(): string | undefined {
    return this.lastConnectError;
  }

  /**
   * Until the returned release is called, a dropped connection is not re-opened. A session taking over
   * this client id (a reload's new session on the same broker) makes the broker drop this one, which
   * must not reconnect and take the id back.
   */
  holdReconnects(): () => void {
    this.held = true;
    return () => {
      this.held = false;
      if (!this.reconnectDue || this.stopping) return;
      this.reconnectDue = false;
      this.open();
    };
  }

  /** Says `online` again, e.g. after a session this one replaced said `stopped` on the same topic. */
  announce(): void {
    if (this.client?.connected) this.send(this.availability('online'));
  }

  /** Takes what waits in the outbox (after stop(), what never reached the broker). */
  takeUnsent(): OutgoingMessage[] {
    return this.outbox.drain();
  }

  /** Publishes now when connected, else keeps it in the bounded outbox. Never throws, never waits. */
  publish(message: OutgoingMessage): void {
    if (this.client?.connected) this.send(message);
    else this.outbox.push(message);
  }

  /** Publishes retained state and remembers it, to republish after every reconnect. */
  publishRetained(message: Omit<OutgoingMessage, 'retain'>): void {
    const full = { ...message, retain: true };
    this.retained.set(message.topic, full);
    if (this.client?.connected) this.send(full);
  }

  /** Changes the subscribed filters on the live connection (and for later reconnects), without reconnecting. */
  async setSubscriptions(filters: readonly string[]): Promise<void> {
    const added = filters.filter((f) => !this.subscriptions.includes(f));
    const removed = this.subscriptions.filter((f) => !filters.includes(f));
    this.subscriptions = [...filters];
    const client = this.client;
    if (!client?.connected) return;
    // A failure here is repaired by the next connect, which subscribes the current list.
    if (removed.length > 0)
      await client.unsubscribeAsync(removed).catch((err: Error) => this.options.log.warn({ event: 'mqtt-unsubscribe', err: err.message }, 'unsubscribe failed'));
    if (added.length > 0) await this.subscribe(client, added);
  }

  stats(): SessionStats {
    return {
      connected: this.client?.connected ?? false,
      protocolVersion: this.version,
      reconnects: Math.max(0, this.connects - 1),
      buffered: this.outbox.size,
      dropped: this.outbox.dropped,
    };
  }

  /**
   * Clean stop: `stopped` replaces the availability (so no last will), then disconnects. Bounded: a
   * connection the broker drops meanwhile (a session taking over this client id does that) or a broker
   * that does not acknowledge within STOP_ACK_MS ends the connection without waiting any longer.
   * Resolves whether the broker acknowledged `stopped`.
   */
  async stop(): Promise<boolean> {
    this.stopping = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    if (!client) return false;
    let acknowledged = false;
    if (client.connected) {
      this.retained.set(this.options.availabilityTopic, this.availability('stopped'));
      let timer: NodeJS.Timeout | undefined;
      const givenUp = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, STOP_ACK_MS);
        client.once('close', () => resolve());
      });
      const said = client.publishAsync(this.options.availabilityTopic, 'stopped', { qos: 1, retain: true }).then(
        () => (acknowledged = true),
        (err: Error) => this.options.log.warn({ event: 'mqtt-stop', err }, 'could not publish stopped'),
      );
      await Promise.race([said, givenUp]);
      clearTimeout(timer);
    }
    // Forced when unacknowledged: that also settles the pending publish (mqtt.js fails it on end).
    await client.endAsync(!acknowledged || !client.connected);
    // A clean disconnect: the broker drops the status will unpublished.
    const companion = this.companion;
    if (companion) await companion.endAsync(!companion.connected);
    return acknowledged;
  }

  private availability(state: 'online' | 'offline' | 'stopped'): OutgoingMessage {
    return { topic: this.options.availabilityTopic, payload: state, qos: 1, retain: true };
  }

  /** What both connections send the broker: the protocol version it speaks, the login and TLS files. */
  private baseOptions(): IClientOptions {
    const o = this.options;
    return {
      protocolVersion: this.version,
      keepalive: o.keepalive,
      clean: true,
      connectTimeout: 10_000,
      ...(o.username !== undefined && { username: o.username }),
      ...(o.password !== undefined && { password: o.password }),
      ...(o.ca && { ca: o.ca }),
      ...(o.cert && { cert: o.cert }),
      ...(o.key && { key: o.key }),
    };
  }

  /**
   * Connects the companion holding `statusWill` (first time: opens it, with the protocol version the
   * broker took) and waits until it is connected, at most COMPANION_WAIT_MS: `online` must not go out
   * before the will that would take the status back is in place.
   */
  private async ensureCompanion(): Promise<void> {
    const o = this.options;
    const will = o.statusWill;
    if (will === undefined || this.stopping || this.companion?.connected) return;
    let companion = this.companion;
    if (companion === undefined) {
      companion = mqtt.connect(o.url, {
        ...this.baseOptions(),
        // Its own id, never this session's, so that the two never take the connection from each other.
        clientId: `${o.clientId}-will-${randomBytes(4).toString('hex')}`,
        // It publishes nothing: mqtt.js's own reconnects do, as often as this session's fastest.
        reconnectPeriod: o.reconnectMinMs,
        will: { topic: will.topic, payload: Buffer.from(will.payload), qos: 1, retain: true },
      });
      // This session's own connection reports the broker's problems; these would say the same again.
      companion.on('error', (err) => o.log.debug({ event: 'mqtt-status-will', err: err.message }, 'status will connection error'));
      this.companion = companion;
    }
    const connected = await new Promise<boolean>((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        companion.off('connect', onConnect);
        resolve(ok);
      };
      const onConnect = () => done(true);
      const timer = setTimeout(() => done(false), COMPANION_WAIT_MS);
      companion.on('connect', onConnect);
    });
    if (!connected) o.log.warn({ event: 'mqtt-status-will', url: redactUrl(o.url) }, `the status will connection did not come up within ${COMPANION_WAIT_MS / 1000} s: after a crash, status may keep its last state`);
  }

  private open(): void {
    const o = this.options;
    const clientOptions: IClientOptions = {
      ...this.baseOptions(),
      clientId: o.clientId,
      // Reconnects are ours (with backoff); mqtt.js's own offline queue would be unbounded.
      reconnectPeriod: 0,
      queueQoSZero: false,
      resubscribe: false,
      will: { topic: o.availabilityTopic, payload: Buffer.from('offline'), qos: 1, retain: true },
    };
    const client = mqtt.connect(o.url, clientOptions);
    this.client = client;
    client.on('connect', () => void this.onConnected(client));
    client.on('disconnect', (packet) => {
      if (packet.reasonCode === SESSION_TAKEN_OVER) this.takenOver = true;
    });
    client.on('message', (topic, payload, packet) => o.onMessage({ topic, payload, properties: packet.properties ?? {} }, this));
    client.on('error', (err: Error & { code?: unknown }) => {
      if (this.version === 5 && typeof err.code === 'number' && REFUSED_PROTOCOL.has(err.code)) {
        o.log.warn({ event: 'mqtt-fallback', url: redactUrl(o.url) }, 'broker refused MQTT v5; using MQTT 3.1.1');
        this.version = 4;
        this.failures = 0;
        return;
      }
      this.lastConnectError = err.message;
      o.log.warn({ event: 'mqtt-error', url: redactUrl(o.url), err: err.message }, 'MQTT error');
    });
    client.on('close', () => this.onClosed(client));
  }

  private async onConnected(client: MqttClient): Promise<void> {
    const o = this.options;
    // The backoff is reset only once a connection has lasted (onClosed): one the broker keeps dropping
    // right away must not be retried at the shortest delay for ever.
    this.connectedAt = performance.now();
    this.takenOver = false;
    this.lastConnectError = undefined;
    this.connects++;
    o.log.info({ event: 'mqtt-connected', url: redactUrl(o.url), protocolVersion: this.version, reconnects: this.connects - 1 }, 'MQTT connected');
    if (this.subscriptions.length > 0) await this.subscribe(client, this.subscriptions);
    await this.ensureCompanion();
    // Dropped or stopped meanwhile: the next connect (if any) says it all.
    if (client !== this.client || !client.connected || this.stopping) return;
    // Everything retained first and `online` last, so whoever sees `online` also sees current state.
    for (const message of this.retained.values()) if (message.topic !== o.availabilityTopic) this.send(message);
    for (const message of this.outbox.drain()) this.send(message);
    this.send(this.availability('online'));
    this.firstConnect.resolve();
    o.onConnect?.();
  }

  private async subscribe(client: MqttClient, filters: readonly string[]): Promise<void> {
    const log = this.options.log;
    try {
      const grants = await client.subscribeAsync([...filters], { qos: 0 });
      for (const g of grants) if (g.qos === 128) log.error({ event: 'mqtt-subscribe', topic: g.topic }, 'broker refused subscription');
    } catch (err) {
      log.warn({ event: 'mqtt-subscribe', err: (err as Error).message }, 'subscribe failed');
    }
  }

  private onClosed(client: MqttClient): void {
    if (this.stopping || client !== this.client) return;
    const wasConnected = this.connectedAt > 0;
    const lived = wasConnected ? performance.now() - this.connectedAt : 0;
    this.connectedAt = 0;
    client.removeAllListeners();
    // Keep an error listener: a late socket error on a dropped client must not crash the process.
    client.on('error', () => {});
    const o = this.options;
    if (wasConnected && lived >= stableAfterMs(o)) this.failures = 0;
    const delay = Math.min(o.reconnectMaxMs, o.reconnectMinMs * 2 ** this.failures);
    this.failures++;
    this.noticeTakeover(wasConnected && lived < stableAfterMs(o) && this.lastConnectError === undefined);
    o.log.warn({ event: 'mqtt-disconnected', retryMs: delay }, 'MQTT disconnected; retrying');
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      client.end(true);
      if (this.held) this.reconnectDue = true;
      else this.open();
    }, delay);
  }

  /**
   * Says plainly when another client with this client id keeps taking the connection: the broker said
   * so (MQTT v5), or connections it accepted were dropped soon after, without an error, several times in
   * a row. Not while held: a reload's new session taking the id over is expected.
   */
  private noticeTakeover(droppedSoon: boolean): void {
    const said = this.takenOver;
    this.takenOver = false;
    this.shortDrops = droppedSoon ? this.shortDrops + 1 : 0;
    if (this.held || (!said && this.shortDrops < TAKEOVER_STREAK)) return;
    const o = this.options;
    o.log.error(
      { event: 'mqtt-client-id-conflict', clientId: o.clientId, url: redactUrl(o.url), drops: this.shortDrops },
      `another MQTT client with the client id "${o.clientId}" is connected to ${redactUrl(o.url)}: the broker keeps handing the connection from one to the other (${this.shortDrops} times in a row). Give each appliance its own node name or mqtt.clientId.`,
    );
  }

  private send(message: OutgoingMessage): void {
    const props = this.version === 5 ? message.properties : undefined;
    this.client!.publish(message.topic, message.payload, {
      qos: message.qos,
      retain: message.retain ?? false,
      ...(props && { properties: props }),
    }, (err) => {
      if (err) this.options.log.warn({ event: 'mqtt-publish', topic: message.topic, err: err.message }, 'publish failed');
    });
  }
}
