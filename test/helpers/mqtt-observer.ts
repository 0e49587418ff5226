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
  private waiters: { match: (s: Seen) => boolean; resolve: (s: Seen) => void }[] = [];

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      const s = { topic, payload, retain: packet.retain, properties: packet.properties ?? {} };
      this.seen.push(s);
      this.waiters = this.waiters.filter((w) => (w.match(s) ? (w.resolve(s), false) : true));
    });
  }

  static async connect(url: string, topics: string[], options: IClientOptions = {}): Promise<Observer> {
    const client = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 100, ...options });
    const observer = new Observer(client);
    if (topics.length > 0) await client.subscribeAsync(topics, { qos: 1 });
    return observer;
  }

  /** The first message (already seen or still to come) that matches; rejects after `ms`. */
  next(match: (s: Seen) => boolean, ms = 10_000, from = 0): Promise<Seen> {
    const already = this.seen.slice(from).find(match);
    if (already) return Promise.resolve(already);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching message within ${ms} ms; seen: ${this.describe()}`)), ms);
      this.waiters.push({ match, resolve: (s) => (clearTimeout(timer), resolve(s)) });
    });
  }

  /** Waits for a message on `topic` whose payload text is `text`. */
  nextText(topic: string, text: string, from = 0): Promise<Seen> {
    return this.next((s) => s.topic === topic && s.payload.toString() === text, 10_000, from);
  }

  describe(): string {
    return this.seen.map((s) => `${s.topic}=${s.payload.toString().slice(0, 60)}`).join(', ');
  }

  close(): Promise<void> {
    return this.client.endAsync(true);
  }
}
