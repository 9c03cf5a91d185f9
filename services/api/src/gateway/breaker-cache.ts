import { initialBreaker, type BreakerSnapshot } from '@apg/core';
import type { Logger, Redis, RedisKeys } from '@apg/platform';

/**
 * The api's copy of every breaker state, kept in process so a select reads no Redis for it.
 * Filled by one HGETALL at start and on a short period (bounded staleness if a notification is
 * lost), and updated at once by the aggregator's announcements. If Redis is down the last snapshot
 * keeps serving; `lastRefreshOk`/`lastRefreshAt` let /api/health say how stale it is.
 */
export class BreakerCache {
  private states = new Map<string, BreakerSnapshot>();
  private timer: NodeJS.Timeout | null = null;
  lastRefreshAt = 0;
  lastRefreshOk = false;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly log: Logger,
    private readonly opts: { refreshMs: number },
  ) {}

  get(instanceId: string, now: number): BreakerSnapshot {
    return this.states.get(instanceId) ?? initialBreaker(now - 1);
  }

  has(instanceId: string): boolean {
    return this.states.has(instanceId);
  }

  apply(instanceId: string, snapshot: unknown): void {
    if (isSnapshot(snapshot)) this.states.set(instanceId, snapshot);
  }

  async refresh(): Promise<void> {
    try {
      const all = await this.redis.hgetall(this.keys.breakerStates());
      const next = new Map<string, BreakerSnapshot>();
      for (const [id, json] of Object.entries(all)) {
        try {
          const s: unknown = JSON.parse(json);
          if (isSnapshot(s)) next.set(id, s);
        } catch {
          this.log.warn({ instanceId: id }, 'ignoring malformed breaker state in Redis');
        }
      }
      this.states = next;
      this.lastRefreshAt = Date.now();
      this.lastRefreshOk = true;
    } catch (err) {
      this.lastRefreshOk = false;
      this.log.warn({ err }, 'breaker states not refreshed; serving the last snapshot');
    }
  }

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.opts.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

function isSnapshot(v: unknown): v is BreakerSnapshot {
  return typeof v === 'object' && v !== null && typeof (v as { state?: unknown }).state === 'string';
}
