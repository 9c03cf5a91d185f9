// Listens to the aggregator's breaker announcements (the channel every api replica applies), to show when the
// api side learnt of each state change of the watched instance.
import { createRedis, RedisKeys, type Redis } from '@apg/platform';

export interface Announcement {
  /** Epoch ms when this process received it. */
  receivedAt: number;
  state: string;
  since: number;
}

export class BreakerWatch {
  private readonly sub: Redis;
  private readonly cmd: Redis;
  private readonly keys: RedisKeys;
  private watched: string | null = null;
  private last: Announcement | null = null;
  seen: Announcement[] = [];

  private constructor(redisUrl: string, redisPrefix: string, private readonly channel: string) {
    this.sub = createRedis(redisUrl);
    this.cmd = createRedis(redisUrl);
    this.keys = new RedisKeys(redisPrefix);
  }

  static async start(redisUrl: string, redisPrefix: string): Promise<BreakerWatch> {
    const w = new BreakerWatch(redisUrl, redisPrefix, new RedisKeys(redisPrefix).breakerChannel());
    w.sub.on('message', (_channel: string, message: string) => w.onMessage(message));
    await w.sub.subscribe(w.channel);
    return w;
  }

  /** Watch another instance from now on; forgets what was seen. */
  watch(instanceId: string): void {
    this.watched = instanceId;
    this.last = null;
    this.seen = [];
  }

  private onMessage(message: string): void {
    if (!this.watched) return;
    let parsed: { records?: Record<string, { state?: unknown; since?: unknown }> };
    try {
      parsed = JSON.parse(message) as typeof parsed;
    } catch {
      return;
    }
    const r = parsed.records?.[this.watched];
    if (!r || typeof r.state !== 'string' || typeof r.since !== 'number') return;
    if (this.last && this.last.state === r.state && this.last.since === r.since) return;
    this.last = { receivedAt: Date.now(), state: r.state, since: r.since };
    this.seen.push(this.last);
  }

  /**
   * The api's half-open probe permit counters of an instance (one key per `since` of the record a permit was
   * asked under; the value counts attempts, so min(value, halfOpenProbes) permits were granted under it).
   */
  async probeCounters(instanceId: string): Promise<{ since: number; attempts: number }[]> {
    const prefix = this.keys.probePermits(instanceId, 0).replace(/0$/, '');
    const out: { since: number; attempts: number }[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.cmd.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      for (const key of batch) out.push({ since: Number(key.slice(prefix.length)), attempts: Number(await this.cmd.get(key)) });
    } while (cursor !== '0');
    return out.sort((a, b) => a.since - b.since);
  }

  async stop(): Promise<void> {
    await this.sub.unsubscribe(this.channel).catch(() => undefined);
    this.sub.disconnect();
    this.cmd.disconnect();
  }
}
