import { initialBreaker, type HealthRecord } from '@apg/core';
import type { Logger, Redis, RedisKeys } from '@apg/platform';
import type { RedisCircuit } from './redis-circuit';

/**
 * The api's copy of every instance's health record (breaker, cool-down, window stats), kept in
 * process so a select reads no Redis for it. Filled by one HGETALL at start and on a short period
 * (bounded staleness if a notification is lost), and updated at once by the aggregator's
 * announcements. If Redis is down the last copy keeps serving; `lastRefreshOk`/`lastRefreshAt` let
 * /api/health say how stale it is. Selection does not read it directly: see BreakerVerdicts, which
 * merges it with the replica's local breakers.
 */
export class BreakerCache {
  private records = new Map<string, HealthRecord>();
  /** The JSON each record was parsed from: a refresh re-parses only what changed (less garbage). */
  private raw = new Map<string, string>();
  private timer: NodeJS.Timeout | null = null;
  lastRefreshAt = 0;
  lastRefreshOk = false;
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly circuit: RedisCircuit,
    private readonly log: Logger,
    private readonly opts: { refreshMs: number },
  ) {}

  /** The instance's record; an instance the aggregator never saw is healthy and cold. */
  get(instanceId: string): HealthRecord {
    return this.records.get(instanceId) ?? UNSEEN;
  }

  /** The aggregator's record of the instance, `null` when it never wrote one. */
  peek(instanceId: string): HealthRecord | null {
    return this.records.get(instanceId) ?? null;
  }

  has(instanceId: string): boolean {
    return this.records.has(instanceId);
  }

  /** Ids of every instance with a record (for the breaker-state gauges). */
  ids(): IterableIterator<string> {
    return this.records.keys();
  }

  get size(): number {
    return this.records.size;
  }

  /** Applies one announced record, unless it is older than what we hold (messages can cross a refresh). */
  apply(instanceId: string, record: unknown): void {
    const r = asRecord(record);
    if (!r) return;
    const held = this.records.get(instanceId);
    if (held && held.updatedAt > r.updatedAt) return;
    this.records.set(instanceId, r);
    this.raw.delete(instanceId);
  }

  forget(instanceId: string): void {
    this.records.delete(instanceId);
    this.raw.delete(instanceId);
  }

  async refresh(): Promise<void> {
    try {
      // A bigger budget than a select's call: 10,000 records are a few MB.
      const all = await this.circuit.run('breaker_states.get_all', () => this.redis.hgetall(this.keys.breakerStates()), 2000);
      const next = new Map<string, HealthRecord>();
      const nextRaw = new Map<string, string>();
      for (const [id, json] of Object.entries(all)) {
        const held = this.records.get(id);
        if (held && this.raw.get(id) === json) {
          next.set(id, held);
          nextRaw.set(id, json);
          continue;
        }
        let parsed: unknown;
        try {
          parsed = JSON.parse(json);
        } catch {
          this.log.warn({ instanceId: id }, 'ignoring malformed health record in Redis');
          continue;
        }
        const r = asRecord(parsed);
        if (!r) continue;
        if (held && held.updatedAt > r.updatedAt) {
          // An announcement newer than this snapshot arrived while HGETALL was in flight: keep it.
          next.set(id, held);
          continue;
        }
        next.set(id, r);
        nextRaw.set(id, json);
      }
      this.records = next;
      this.raw = nextRaw;
      this.lastRefreshAt = Date.now();
      this.lastRefreshOk = true;
    } catch (err) {
      this.lastRefreshOk = false;
      this.log.warn({ err: (err as Error).message }, 'health records not refreshed; serving the last copy');
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

/** An instance the aggregator never saw: healthy and cold (one shared, frozen object: no garbage per select). */
export const UNSEEN: HealthRecord = Object.freeze({ ...initialBreaker(0), reason: 'no outcome reported yet', cooldownUntil: null, stats: null, updatedAt: 0 });

/** Accepts records written by any aggregator version: missing newer fields get neutral values. */
function asRecord(v: unknown): HealthRecord | null {
  if (typeof v !== 'object' || v === null || typeof (v as { state?: unknown }).state !== 'string') return null;
  const r = v as Partial<HealthRecord> & Pick<HealthRecord, 'state'>;
  return {
    ...(r as HealthRecord),
    cooldownUntil: typeof r.cooldownUntil === 'number' ? r.cooldownUntil : null,
    stats: r.stats ?? null,
    updatedAt: typeof r.updatedAt === 'number' ? r.updatedAt : 0,
  };
}
