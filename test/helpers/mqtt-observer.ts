/** A plain MQTT client for tests: records what arrives and waits for messages matching a condition. */
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';

export interface Seen {
  readonly topic: string;
  readonly payload: Buffer;
  readonly retain: boolean;
  readonly properties: NonNullable<IPublishPacket['properties']>;
}

export class Observer {
  readonly seen: Seen[] = [];
  private waiters: { match: (s: Seen) => boolean; from: number; resolve: (s: Seen) => void }[] = [];

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      const s = { topic, payload, retain: packet.retain, properties: packet.properties ?? {} };
      const at = this.seen.push(s) - 1;
      this.waiters = this.waiters.filter((w) => (at >= w.from && w.match(s) ? (w.resolve(s), false) : true));
    });
  }

  static async connect(url: string, topics: string[], options: IClientOptions = {}): Promise<Observer> {
    const client = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 100, ...options });
    const observer = new Observer(client);
    if (topics.length > 0) await client.subscribeAsync(topics, { qos: 1 });
    return observer;
  }

  /**
   * A cursor at the end of what has arrived so far. Take it before the action whose answer the test
   * waits for, and pass it as `from` to next() or since(): an older message that also matches (the
   * same topic before a restart, a reload, a rebuild) then cannot stand in for the answer. (Invalid
   * once a test empties `seen`.)
   */
  mark(): number {
    return this.seen.length;
  }

  /** The cursor just past `s`, a message this observer received: for what arrives after it. */
  after(s: Seen): number {
    const i = this.seen.indexOf(s);
    if (i < 0) throw new Error(`not a message this observer has (still) seen: ${s.topic}`);
    return i + 1;
  }

  /** The messages received from cursor `from` on. */
  since(from: number): Seen[] {
    return this.seen.slice(from);
  }

  /**
   * The first message from cursor `from` on (already received or still to come) that matches; rejects
   * after `ms`. With the default `from` of 0 any message since the observer connected will do: pass a
   * mark() taken before the cause when an older message could match too.
   */
  next(match: (s: Seen) => boolean, ms = 10_000, from = 0): Promise<Seen> {
    const already = this.seen.slice(from).find(match);
    if (already) return Promise.resolve(already);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching message within ${ms} ms; seen: ${this.describe()}`)), ms);
      this.waiters.push({ match, from, resolve: (s) => (clearTimeout(timer), resolve(s)) });
    });
  }

  /** Waits for a message on `topic` whose payload text is `text`, from cursor `from` on, for at most `ms`. */
  nextText(topic: string, text: string, from = 0, ms = 10_000): Promise<Seen> {
    return this.next((s) => s.topic === topic && s.payload.toString() === text, ms, from);
  }

  describe(): string {
    return this.seen.map((s) => `${s.topic}=${s.payload.toString().slice(0, 60)}`).join(', ');
  }

  close(): Promise<void> {
    return this.client.endAsync(true);
  }
}
