import { LuaScript, type Redis, type RedisKeys } from '@apg/platform';
import type { RedisCircuit } from './redis-circuit';

// INCR and set the expiry in one step, so N api replicas hand out exactly `limit` permits in total.
const ACQUIRE = new LuaScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`);

/** Bound of the in-process maps (episodes, instances with probes out): a guard, cleared when hit. */
const MAX_TRACKED = 10_000;

/**
 * Half-open probe permits. Two bounds hold together:
 *
 * - per open episode (`since` = the episode's `openedAt`), atomic across api replicas in Redis, so N
 *   replicas admit `limit` probes in total, not N × `limit`;
 * - per instance on this replica, at most `limit` probes out at a time (handed out, not yet reported,
 *   lease not expired), whatever the episode: when the verdict passes between the aggregator's record
 *   and the local breaker, their episodes differ, and without this bound each would hand out its own set.
 *
 * With Redis unreachable (circuit open, or the call failed) the episode count is kept in process: each
 * replica then admits at most `limit` probes per episode on its own. Once a replica saw an episode's
 * permits run out, it stops asking Redis until the episode's key expires.
 */
export class ProbePermits {
  /** Episode key → when its permits may be asked for again (they ran out). */
  private readonly exhausted = new Map<string, number>();
  /** Episode key → permits handed out by this replica without Redis, and until when that count holds. */
  private readonly localCounts = new Map<string, { n: number; until: number }>();
  /** Instance → expiry times of the probes this replica handed out that are not reported yet. */
  private readonly out = new Map<string, number[]>();

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly circuit: RedisCircuit,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes a permit for a probe of `instanceId` in the episode that began at `since`; `ttlMs` bounds both counts. */
  async tryAcquire(instanceId: string, since: number, limit: number, ttlMs: number): Promise<boolean> {
    const now = this.now();
    if (this.outstanding(instanceId, now) >= limit) return false;
    const key = this.keys.probePermits(instanceId, since);
    const until = this.exhausted.get(key);
    if (until !== undefined) {
      if (until > now) return false;
      this.exhausted.delete(key);
    }
    let n: number;
    try {
      n = (await this.circuit.run('probe_permits.acquire', () => ACQUIRE.run(this.redis, [key], [ttlMs]))) as number;
    } catch {
      n = this.countLocally(key, now, ttlMs);
    }
    if (n >= limit) {
      if (this.exhausted.size > MAX_TRACKED) this.exhausted.clear();
      this.exhausted.set(key, now + ttlMs);
    }
    if (n > limit) return false;
    this.hold(instanceId, now + ttlMs);
    return true;
  }

  /** A report of the instance came back: its oldest probe out is settled. */
  settle(instanceId: string): void {
    const list = this.out.get(instanceId);
    if (!list) return;
    list.shift();
    if (list.length === 0) this.out.delete(instanceId);
  }

  private outstanding(instanceId: string, now: number): number {
    const list = this.out.get(instanceId);
    if (!list) return 0;
    while (list.length > 0 && list[0]! <= now) list.shift();
    if (list.length === 0) this.out.delete(instanceId);
    return list.length;
  }

  private hold(instanceId: string, until: number): void {
    if (this.out.size > MAX_TRACKED && !this.out.has(instanceId)) this.out.clear();
    const list = this.out.get(instanceId) ?? [];
    list.push(until);
    this.out.set(instanceId, list);
  }

  private countLocally(key: string, now: number, ttlMs: number): number {
    let c = this.localCounts.get(key);
    if (!c || c.until <= now) {
      if (this.localCounts.size > MAX_TRACKED) this.localCounts.clear();
      c = { n: 0, until: now + ttlMs };
      this.localCounts.set(key, c);
    }
    c.n += 1;
    return c.n;
  }
}
