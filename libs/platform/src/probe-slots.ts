import { LuaScript } from './lua-script';
import type { Redis, RedisKeys } from './redis';

/**
 * Half-open probe slots of an instance, shared by every api replica and aggregator through Redis.
 *
 * One sorted set per instance (`RedisKeys.probesOut`) holds the probes out, by selectionId, scored by
 * when the slot lapses (the probe's lease expiry: a probe that never reports frees its slot then). A
 * probe's outcome settles its slot wherever it arrives — the api replica that takes the HTTP report, or
 * the aggregator that applies an event published straight to Kafka (both may; settling is idempotent):
 *
 * - an outcome that leaves the breaker HALF_OPEN (a success, or a failure that is no health signal: the
 *   caller's own 4xx, a 429) frees the slot at once (the next probe of the period may go);
 * - one that reopens it keeps the slot, as `h:<selectionId>`, until the breaker's new `openUntil`: no
 *   replica hands out a new probe on the strength of a verdict that has not heard of the failure yet (an
 *   aggregator record a few ms behind, or a local breaker whose episode began at another moment).
 *
 * So at most `limit` probes of an instance are out at a time, across replicas and whatever the verdict's
 * source, on top of the per-episode count (`RedisKeys.probePermits`). Times are Redis' own (`TIME`), so
 * replicas with skewed clocks agree.
 */
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

// Extends the set's own expiry to cover a slot lapsing at `untilMs` (never shortens it).
const COVER = `local function cover(key, ms)
  local left = redis.call('PTTL', key)
  if left < ms then redis.call('PEXPIRE', key, ms) end
end`;

// KEYS: episode counter, slots. ARGV: limit, ttlMs (counter TTL and the slot's lapse), selectionId.
// Returns n > 0 when granted (the n-th permit of the episode), 0 when `limit` slots are out or held,
// -n when the episode's permits ran out (n asked for).
const ACQUIRE = new LuaScript(`${NOW}
${COVER}
local limit, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) >= limit then return 0 end
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ttl) end
if n > limit then return -n end
redis.call('ZADD', KEYS[2], now + ttl, ARGV[3])
cover(KEYS[2], ttl)
return n`);

// KEYS: slots. ARGV: selectionId ('' = the oldest probe out: a report that names no selection),
// holdMs (0 = free the slot). Returns 1 when a probe out was settled, 0 when none was (already settled,
// lapsed, or never handed out): a second settle (the aggregator after the api, a retried report) changes
// nothing, and a lapsed slot is never turned into a fresh hold.
const SETTLE = new LuaScript(`${NOW}
${COVER}
local id, hold = ARGV[1], tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if id == '' then
  for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
    if string.sub(m, 1, 2) ~= 'h:' then id = m break end
  end
  if id == '' then return 0 end
end
local settled = redis.call('ZREM', KEYS[1], id)
if settled == 1 and hold > 0 then
  redis.call('ZADD', KEYS[1], now + hold, 'h:' .. id)
  cover(KEYS[1], hold)
end
return settled`);

export type ProbeSlotGrant = { granted: true; n: number } | { granted: false; why: 'busy' | 'exhausted' };

/** The two scripts over one Redis connection; callers add their own circuit or retry around them. */
export class ProbeSlots {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  /** A slot for probe `selectionId` of `instanceId` in the episode that began at `since`. */
  async acquire(instanceId: string, since: number, selectionId: string, limit: number, ttlMs: number): Promise<ProbeSlotGrant> {
    const n = Number(await ACQUIRE.run(this.redis, [this.keys.probePermits(instanceId, since), this.keys.probesOut(instanceId)], [limit, ttlMs, selectionId]));
    if (n > 0) return { granted: true, n };
    return { granted: false, why: n === 0 ? 'busy' : 'exhausted' };
  }

  /** Settles a probe's slot: freed (`holdMs` 0), or held `holdMs` (the breaker reopened on it: until it may probe again). */
  async settle(instanceId: string, selectionId: string | null, holdMs: number): Promise<boolean> {
    return Number(await SETTLE.run(this.redis, [this.keys.probesOut(instanceId)], [selectionId ?? '', Math.max(0, Math.round(holdMs))])) === 1;
  }
}
