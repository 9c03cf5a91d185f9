import net from 'node:net';

/**
 * A TCP proxy a test controls, to cut a service off from a dependency (Postgres here) without
 * touching the dependency itself: `cut()` drops every open connection and refuses new ones (accepted
 * and reset at once, like a dead peer) until `restore()`. `stall()` keeps every connection open but
 * holds the bytes both ways (a hung server, a network black hole) until `resume()` delivers them.
 * `strand()` turns every connection open now into a black hole for good (its bytes, held ones included,
 * are dropped; it is never reset) while new connections flow: a peer that vanished without a FIN or RST,
 * a NAT that forgot the flow — only a client-side timeout gets a client out of that.
 */
export interface TcpProxy {
  readonly port: number;
  /** `url` with its host and port replaced by the proxy's. */
  rewrite(url: string): string;
  cut(): void;
  restore(): void;
  stall(): void;
  resume(): void;
  strand(): void;
  /** Connections currently relayed. */
  openConnections(): number;
  /** Connections accepted so far (refused ones included). */
  accepted(): number;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let down = false;
  let stalled = false;
  let held: { client: net.Socket; write: () => void }[] = [];
  const stranded = new WeakSet<net.Socket>();
  let accepted = 0;
  let relayed = 0;
  const kill = (s: net.Socket) => (typeof s.resetAndDestroy === 'function' ? s.resetAndDestroy() : s.destroy());

  const server = net.createServer((client) => {
    accepted++;
    client.on('error', () => undefined);
    if (down) {
      kill(client);
      return;
    }
    const upstream = net.connect(target.port, target.host);
    upstream.on('error', () => undefined);
    sockets.add(client);
    sockets.add(upstream);
    relayed++;
    const end = () => {
      if (sockets.delete(client)) relayed--;
      sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end);
    upstream.on('close', end);
    // Not pipe(): while stalled the bytes are held here, in order, and delivered on resume.
    const relay = (from: net.Socket, to: net.Socket) => from.on('data', (d: Buffer) => {
      if (stranded.has(client)) return;
      if (stalled) held.push({ client, write: () => to.write(d) });
      else to.write(d);
    });
    relay(client, upstream);
    relay(upstream, client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  return {
    port,
    rewrite(url: string) {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    cut() {
      down = true;
      for (const s of sockets) kill(s);
      sockets.clear();
      relayed = 0;
    },
    restore() {
      down = false;
    },
    stall() {
      stalled = true;
    },
    resume() {
      stalled = false;
      const pending = held;
      held = [];
      for (const h of pending) if (!stranded.has(h.client)) h.write();
    },
    strand() {
      for (const s of sockets) stranded.add(s);
      held = [];
      stalled = false;
    },
    openConnections: () => relayed,
    accepted: () => accepted,
    close() {
      down = true;
      for (const s of sockets) kill(s);
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
