import { LuaScript, type Redis, type RedisKeys } from '@apg/platform';

/**
 * Everything a select needs from Redis in ONE round trip: the caller's select count this second
 * (rate limit), the affinity binding (its TTL slid in the same step) and the counters the decision
 * reads (in-flight for SMART's load, rpm/tpm only for instances that have such limits).
 * KEYS: rateKey, affinityKey ('' when none), then the counter keys.
 * ARGV: affinityTtlMs.
 */
const SELECT_CONTEXT = new LuaScript(`
local rate = redis.call('INCR', KEYS[1])
if rate == 1 then redis.call('PEXPIRE', KEYS[1], 2000) end
local bound = false
if KEYS[2] ~= '' then
  bound = redis.call('GET', KEYS[2])
  if bound then redis.call('PEXPIRE', KEYS[2], ARGV[1]) end
end
local counts = {}
for i = 3, #KEYS do counts[#counts + 1] = tonumber(redis.call('GET', KEYS[i]) or '0') end
return {rate, bound, counts}`);

// Settles a lease once: whoever removes it from the expiry set owns it (report or sweeper). Only a
// report for the lease's own instance may: another instance's (another tenant's) leaves it open.
const SETTLE = new LuaScript(`
if redis.call('HGET', KEYS[2], 'instanceId') ~= ARGV[3] then return false end
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return false end
local lease = redis.call('HGETALL', KEYS[2])
redis.call('DEL', KEYS[2])
local inst = nil
for i = 1, #lease, 2 do if lease[i] == 'instanceId' then inst = lease[i + 1] end end
if inst then
  local k = ARGV[2] .. inst
  if tonumber(redis.call('GET', k) or '0') > 0 then redis.call('DECR', k) end
end
return lease`);

// Pops up to ARGV[2] leases that expired before ARGV[1]; each is settled exactly as above.
const SWEEP = new LuaScript(`
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  local lk = ARGV[3] .. id
  local lease = redis.call('HGETALL', lk)
  redis.call('DEL', lk)
  local inst = nil
  for i = 1, #lease, 2 do if lease[i] == 'instanceId' then inst = lease[i + 1] end end
  if inst then
    local k = ARGV[4] .. inst
    if tonumber(redis.call('GET', k) or '0') > 0 then redis.call('DECR', k) end
  end
  out[#out + 1] = id
  out[#out + 1] = lease
end
return out`);

export interface SelectContext {
  rate: number;
  boundInstanceId: string | null;
  inflight: Map<string, number>;
  rpm: Map<string, number>;
  tpm: Map<string, number>;
}

export interface Lease {
  selectionId: string;
  instanceId: string;
  projectId: string;
  probe: boolean;
  at: number;
  expiresAt: number;
}

const minuteOf = (now: number) => Math.floor(now / 60_000);

function leaseFrom(selectionId: string, flat: string[]): Lease | null {
  const m = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) m.set(flat[i]!, flat[i + 1]!);
  const instanceId = m.get('instanceId');
  const projectId = m.get('projectId');
  if (!instanceId || !projectId) return null;
  return { selectionId, instanceId, projectId, probe: m.get('probe') === '1', at: Number(m.get('at')), expiresAt: Number(m.get('expiresAt')) };
}

/** The api's Redis adapter for routing: select context, leases, affinity, rpm/tpm counters. */
export class RoutingState {
  constructor(private readonly redis: Redis, private readonly keys: RedisKeys) {}

  async selectContext(args: {
    keyId: string;
    affinityKey: string | null;
    affinityTtlMs: number;
    counters: readonly { id: string; inflight: boolean; rpm: boolean; tpm: boolean }[];
    now: number;
  }): Promise<SelectContext> {
    const minute = minuteOf(args.now);
    const keys = [this.keys.selectRate(args.keyId, Math.floor(args.now / 1000)), args.affinityKey ?? ''];
    const slots: { map: Map<string, number>; id: string }[] = [];
    const ctx: SelectContext = { rate: 0, boundInstanceId: null, inflight: new Map(), rpm: new Map(), tpm: new Map() };
    for (const c of args.counters) {
      if (c.inflight) { keys.push(this.keys.inflight(c.id)); slots.push({ map: ctx.inflight, id: c.id }); }
      if (c.rpm) { keys.push(this.keys.rpm(c.id, minute)); slots.push({ map: ctx.rpm, id: c.id }); }
      if (c.tpm) { keys.push(this.keys.tpm(c.id, minute)); slots.push({ map: ctx.tpm, id: c.id }); }
    }
    const [rate, bound, counts] = (await SELECT_CONTEXT.run(this.redis, keys, [args.affinityTtlMs])) as [number, string | null, number[]];
    ctx.rate = rate;
    ctx.boundInstanceId = bound || null;
    slots.forEach((slot, i) => slot.map.set(slot.id, counts[i] ?? 0));
    return ctx;
  }

  /**
   * Records a decision: its lease (settled by the report or expired by the sweeper), the in-flight
   * count, this minute's rpm counter, and the affinity binding when it is new or moved. One pipeline,
   * not awaited by the select path's caller beyond the write itself.
   */
  async recordDecision(d: { lease: Lease; leaseTtlMs: number; affinityKey: string | null; bind: boolean; affinityTtlMs: number }): Promise<void> {
    const { lease } = d;
    const pipe = this.redis.multi();
    const leaseKey = this.keys.lease(lease.selectionId);
    pipe.hset(leaseKey, { instanceId: lease.instanceId, projectId: lease.projectId, probe: lease.probe ? '1' : '0', at: String(lease.at), expiresAt: String(lease.expiresAt) });
    pipe.pexpire(leaseKey, d.leaseTtlMs + 60_000);
    pipe.zadd(this.keys.leaseExpiries(), lease.expiresAt, lease.selectionId);
    pipe.incr(this.keys.inflight(lease.instanceId));
    pipe.pexpire(this.keys.inflight(lease.instanceId), d.leaseTtlMs * 2);
    const rpmKey = this.keys.rpm(lease.instanceId, minuteOf(lease.at));
    pipe.incr(rpmKey);
    pipe.pexpire(rpmKey, 120_000);
    if (d.affinityKey && d.bind) pipe.set(d.affinityKey, lease.instanceId, 'PX', d.affinityTtlMs);
    await pipe.exec();
  }

  /**
   * Settles a lease by the report of `instanceId`; null when it was already settled, expired, never
   * existed, or was granted to another instance (which it then leaves untouched).
   */
  async settle(selectionId: string, instanceId: string): Promise<Lease | null> {
    const flat = (await SETTLE.run(this.redis, [this.keys.leaseExpiries(), this.keys.lease(selectionId)], [selectionId, this.keys.inflight(''), instanceId])) as string[] | null;
    return flat ? leaseFrom(selectionId, flat) : null;
  }

  /** Claims up to `limit` expired leases (each exactly once across replicas). */
  async sweepExpired(now: number, limit: number): Promise<Lease[]> {
    const flat = (await SWEEP.run(this.redis, [this.keys.leaseExpiries()], [now, limit, this.keys.lease(''), this.keys.inflight('')])) as (string | string[])[];
    const out: Lease[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const lease = leaseFrom(flat[i] as string, flat[i + 1] as string[]);
      if (lease) out.push(lease);
    }
    return out;
  }

  async addTokens(instanceId: string, tokens: number, now: number): Promise<void> {
    if (tokens <= 0) return;
    const key = this.keys.tpm(instanceId, minuteOf(now));
    await this.redis.multi().incrby(key, tokens).pexpire(key, 120_000).exec();
  }

  async clearAffinity(affinityKey: string): Promise<void> {
    await this.redis.del(affinityKey);
  }
}
