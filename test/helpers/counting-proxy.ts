/**
 * A TCP proxy in front of a broker that records when each connection was opened (the client's retry
 * pattern, seen from outside), can freeze, standing in for a broker that stopped answering, and can
 * shut its door (hang up on every new connection) to keep a client away from a broker until the test
 * lets it through.
 */
import net from 'node:net';

export class CountingProxy {
  /** performance.now() of each accepted connection. */
  readonly connections: number[] = [];
  private readonly sockets = new Set<net.Socket>();
  private refusing = false;

  private constructor(private readonly server: net.Server) {}

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  static async start(targetPort: number): Promise<CountingProxy> {
    let proxy!: CountingProxy;
    const server = net.createServer((client) => {
      proxy.connections.push(performance.now());
      if (proxy.refusing) {
        client.on('error', () => {});
        client.destroy();
        return;
      }
      const upstream = net.connect(targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        proxy.sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => (proxy.sockets.delete(s), client.destroy(), upstream.destroy()));
      }
      client.pipe(upstream).pipe(client);
    });
    proxy = new CountingProxy(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  /** Hangs up on every new connection (counted all the same) until admit(); open ones carry on. */
  refuse(): void {
    this.refusing = true;
  }

  /** New connections go through to the broker again. */
  admit(): void {
    this.refusing = false;
  }

  /** Stops carrying bytes either way but keeps every connection open: a broker that no longer answers. */
  freeze(): void {
    for (const s of this.sockets) {
      s.unpipe();
      s.pause();
    }
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
