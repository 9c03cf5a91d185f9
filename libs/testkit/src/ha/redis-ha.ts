import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';
import { ManagedProcess } from './managed-process';

export interface RedisHaOptions {
  /** Folder for configs, data and logs (one sub-folder per process). */
  dir: string;
  /** The primary's port, then the replica's (the roles they start in). */
  serverPorts: [number, number];
  /** Three Sentinels. */
  sentinelPorts: [number, number, number];
  /** The name the Sentinels monitor (REDIS_SENTINEL_NAME). @default 'apg' */
  name?: string;
  /** Sentinels' `down-after-milliseconds`: how long a silent primary is waited for. @default 2000 */
  downAfterMs?: number;
  /** The redis-server binary. @default 'redis-server' */
  binary?: string;
}

const HOST = '127.0.0.1';

/**
 * A Redis primary, its replica and three Sentinels (quorum 2) from the machine's `redis-server`, each
 * with its own folder. Any server can be killed and started again: a server restarted while another is
 * primary comes back as its replica (the Sentinels would convert it anyway, but not before it accepted
 * connections as an empty primary).
 */
export class RedisHa {
  readonly name: string;
  readonly servers: Map<number, ManagedProcess> = new Map();
  readonly sentinels: Map<number, ManagedProcess> = new Map();
  private readonly binary: string;

  constructor(private readonly opts: RedisHaOptions) {
    this.name = opts.name ?? 'apg';
    this.binary = opts.binary ?? 'redis-server';
  }

  /** `REDIS_SENTINELS` for the services. */
  get sentinelList(): string {
    return this.opts.sentinelPorts.map((p) => `${HOST}:${p}`).join(',');
  }

  async start(): Promise<void> {
    const [primary, replica] = this.opts.serverPorts;
    this.startServer(primary, null);
    await waitForPing(primary, 15_000);
    this.startServer(replica, primary);
    await waitForPing(replica, 15_000);
    await waitUntil(15_000, async () => (await infoOf(replica, 'replication'))?.includes('master_link_status:up') ?? false, 'the replica in sync');
    for (const port of this.opts.sentinelPorts) this.startSentinel(port, primary);
    for (const port of this.opts.sentinelPorts) await waitForPing(port, 15_000);
    // Sentinels discover the replica and each other through the primary's hello channel.
    await this.waitForHealthyReplica(15_000);
  }

  private serverDir(port: number): string {
    return path.join(this.opts.dir, `redis-${port}`);
  }

  private startServer(port: number, replicaOf: number | null): void {
    const dir = this.serverDir(port);
    mkdirSync(dir, { recursive: true });
    const conf = path.join(dir, 'redis.conf');
    writeFileSync(conf, [
      `port ${port}`,
      `bind ${HOST}`,
      `dir ${dir}`,
      // AOF as compose runs it: a restarted server keeps what it had (then resyncs from the primary).
      'appendonly yes',
      'save ""',
      'replica-read-only yes',
      // A (re)joining replica syncs at once; the default waits 5 s for more replicas to share one transfer.
      'repl-diskless-sync-delay 0',
      // An isolated ex-primary stops taking writes that its replica would never see.
      'min-replicas-to-write 0',
      replicaOf === null ? '' : `replicaof ${HOST} ${replicaOf}`,
      '',
    ].join('\n'));
    let p = this.servers.get(port);
    if (!p) {
      p = new ManagedProcess({ name: `redis-${port}`, command: this.binary, args: [conf], logFile: path.join(dir, 'redis.log') });
      this.servers.set(port, p);
    }
    p.start();
  }

  private startSentinel(port: number, primary: number): void {
    const dir = path.join(this.opts.dir, `sentinel-${port}`);
    mkdirSync(dir, { recursive: true });
    const conf = path.join(dir, 'sentinel.conf');
    // Rewritten on every start: a Sentinel rewrites its own file as it learns (replicas, epochs), and a
    // stale file from an earlier run would name ports of that run.
    writeFileSync(conf, [
      `port ${port}`,
      `bind ${HOST}`,
      `dir ${dir}`,
      `sentinel monitor ${this.name} ${HOST} ${primary} 2`,
      `sentinel down-after-milliseconds ${this.name} ${this.opts.downAfterMs ?? 2000}`,
      `sentinel failover-timeout ${this.name} 10000`,
      `sentinel parallel-syncs ${this.name} 1`,
      '',
    ].join('\n'));
    const p = new ManagedProcess({ name: `sentinel-${port}`, command: this.binary, args: [conf, '--sentinel'], logFile: path.join(dir, 'sentinel.log') });
    this.sentinels.set(port, p);
    p.start();
  }

  /** The primary's port as the Sentinels' majority names it (null while they disagree or none answers). */
  async primaryPort(): Promise<number | null> {
    const views = await Promise.all(this.opts.sentinelPorts.map((p) => this.sentinelView(p)));
    const counts = new Map<number, number>();
    for (const v of views) if (v) counts.set(v.primary, (counts.get(v.primary) ?? 0) + 1);
    for (const [port, n] of counts) if (n >= 2) return port;
    return null;
  }

  /**
   * Waits until every Sentinel sees a healthy replica (flags exactly `slave`, link up): only such a replica
   * can be promoted, and a restarted server is seen again only at a Sentinel's next INFO round (up to 10 s).
   */
  async waitForHealthyReplica(timeoutMs = 30_000): Promise<void> {
    await waitUntil(timeoutMs, async () => {
      const views = await Promise.all(this.opts.sentinelPorts.map((p) => this.sentinelView(p)));
      return views.every((v) => v !== null && v.healthyReplicas >= 1);
    }, 'a healthy replica seen by every Sentinel');
  }

  private async sentinelView(port: number): Promise<{ primary: number; replicas: number; healthyReplicas: number } | null> {
    const s = new Redis({ host: HOST, port, lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null });
    s.on('error', () => undefined);
    try {
      await s.connect();
      const addr = (await s.call('SENTINEL', 'get-master-addr-by-name', this.name)) as string[] | null;
      const replicas = (await s.call('SENTINEL', 'replicas', this.name)) as string[][];
      const healthy = replicas.filter((fields) => {
        const f = new Map<string, string>();
        for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i]!, fields[i + 1]!);
        return f.get('flags') === 'slave' && f.get('master-link-status') === 'ok';
      });
      return addr ? { primary: Number(addr[1]), replicas: replicas.length, healthyReplicas: healthy.length } : null;
    } catch {
      return null;
    } finally {
      s.disconnect();
    }
  }

  /** `kill -9` of the current primary; resolves with its port. */
  async killPrimary(): Promise<number> {
    const port = await this.primaryPort();
    if (port === null) throw new Error('the Sentinels name no primary');
    await this.servers.get(port)!.kill('SIGKILL');
    return port;
  }

  /** Waits until the Sentinels name a primary other than `oldPort` and it answers as a primary. */
  async waitForPromotion(oldPort: number, timeoutMs = 30_000): Promise<number> {
    let promoted = 0;
    await waitUntil(timeoutMs, async () => {
      const port = await this.primaryPort();
      if (port === null || port === oldPort) return false;
      if ((await roleOf(port)) !== 'master') return false;
      promoted = port;
      return true;
    });
    return promoted;
  }

  /** Starts a killed server again, as a replica of whichever server is primary now. */
  async restartServer(port: number): Promise<void> {
    const primary = await this.primaryPort();
    this.startServer(port, primary !== null && primary !== port ? primary : null);
    await waitForPing(port, 15_000);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.sentinels.values()].map((p) => p.stop(5000)));
    await Promise.all([...this.servers.values()].map((p) => p.stop(5000)));
  }
}

async function infoOf(port: number, section: string): Promise<string | null> {
  const r = new Redis({ host: HOST, port, lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return await r.info(section);
  } catch {
    return null;
  } finally {
    r.disconnect();
  }
}

async function roleOf(port: number): Promise<string | null> {
  const r = new Redis({ host: HOST, port, lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
    const role = (await r.call('ROLE')) as unknown[];
    return String(role[0]);
  } catch {
    return null;
  } finally {
    r.disconnect();
  }
}

/** Resolves once `port` answers PING (a server or a Sentinel). */
export async function waitForPing(port: number, timeoutMs: number): Promise<void> {
  await waitUntil(timeoutMs, () => pings(port), `redis on ${HOST}:${port} answering PING`);
}

function pings(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: HOST, port });
    let buf = '';
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.once('error', () => done(false));
    s.once('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\r\n')) done(buf.startsWith('+PONG'));
    });
  });
}

async function waitUntil(timeoutMs: number, check: () => Promise<boolean>, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
