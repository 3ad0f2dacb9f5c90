import { createServer, connect, type Server, type Socket } from 'node:net';

/** Moves bytes between an accepted connection and its upstream connection (both already open or opening). */
export type Relay = (client: Socket, upstream: Socket) => void;

/** Forwards bytes both ways unchanged. */
const pipeBothWays: Relay = (client, upstream) => {
  client.pipe(upstream);
  upstream.pipe(client);
};

/**
 * A TCP proxy for outage tests: listens on 127.0.0.1 and forwards every connection to a target. {@link cut} drops
 * every open connection and refuses new ones (a crashed or unreachable peer) until {@link restore}.
 */
export class TcpProxy {
  /** The port the proxy listens on (127.0.0.1). */
  readonly port: number;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #cut = false;
  #connections = 0;

  private constructor(server: Server, port: number) {
    this.#server = server;
    this.port = port;
  }

  /**
   * Starts a proxy to `targetHost:targetPort` on a free port of 127.0.0.1; `relay` moves the bytes (unchanged by
   * default).
   */
  static async start(targetHost: string, targetPort: number, relay = pipeBothWays): Promise<TcpProxy> {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('the proxy has no TCP address');
    const proxy = new TcpProxy(server, address.port);
    server.on('connection', (client) => proxy.#accept(client, targetHost, targetPort, relay));
    return proxy;
  }

  /** Connections accepted and forwarded so far (refused ones not counted). */
  get connections(): number {
    return this.#connections;
  }

  /** Drops every open connection (reset, as a crashed peer would) and refuses new ones until {@link restore}. */
  cut(): void {
    this.#cut = true;
    for (const socket of this.#sockets) {
      // Node cannot reset a socket it is shutting down (ended, e.g. by a pipe): libuv refuses, yet the handle is
      // marked closing and never closes, and the process spins at exit. Such a socket is destroyed (FIN already sent).
      if (socket.writableEnded) socket.destroy();
      else socket.resetAndDestroy();
    }
    this.#sockets.clear();
  }

  /** Accepts and forwards connections again. */
  restore(): void {
    this.#cut = false;
  }

  /** Drops every connection and stops listening. */
  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket, host: string, port: number, relay: Relay): void {
    if (this.#cut) {
      client.resetAndDestroy();
      return;
    }
    this.#connections++;
    const upstream = connect(port, host);
    this.#sockets.add(client);
    this.#sockets.add(upstream);
    const drop = () => {
      this.#sockets.delete(client);
      this.#sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    relay(client, upstream);
  }
}
