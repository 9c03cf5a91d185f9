import { LuaScript, type Redis, type RedisKeys } from '@apg/platform';
import type { RedisCircuit } from './redis-circuit';

/**
 * Everything a select needs from Redis in ONE round trip: the project's select count this second
 * (rate limit), the affinity binding (its TTL slid in the same step, and its entry in the project's
 * binding index with it) and the counters the decision reads (in-flight for SMART's load, rpm/tpm only
 * for instances that have such limits).
 * KEYS: rateKey, affinityKey ('' when none), affinityIndex ('' when none), then the counter keys.
 * ARGV: affinityTtlMs, now.
 */
const SELECT_CONTEXT = new LuaScript(`
local rate = redis.call('INCR', KEYS[1])
if rate == 1 then redis.call('PEXPIRE', KEYS[1], 2000) end
local bound = false
if KEYS[2] ~= '' then
  bound = redis.call('GET', KEYS[2])
  if bound then
    redis.call('PEXPIRE', KEYS[2], ARGV[1])
    redis.call('ZADD', KEYS[3], tonumber(ARGV[2]) + tonumber(ARGV[1]), KEYS[2])
    redis.call('PEXPIRE', KEYS[3], ARGV[1])
  end
end
local counts = {}
for i = 4, #KEYS do counts[#counts + 1] = tonumber(redis.call('GET', KEYS[i]) or '0') end
return {rate, bound, counts}`);

// Records a decision in one step: the lease (expiry set + hash), the in-flight count, this minute's
// rpm counter (only for instances with an rpm limit) and the affinity binding when it is new or moved.
// Tenant-driven growth is capped here, atomically across replicas: a project at its open-lease cap gets
// no lease (the select was answered; its report then settles nothing), and a bind beyond the project's
// binding cap drops the bindings that expire first, i.e. were used least recently. Returns 1 if leased.
// KEYS: expiries, leases, inflight, rpm ('' = none), affinity ('' = none), openLeases, affinityIndex
// ARGV: selectionId, expiresAt, leaseValue, inflightTtlMs, affinityTtlMs, instanceId, maxOpenLeases,
//       maxAffinityBindings, now
const RECORD = new LuaScript(`
local leased = 0
if tonumber(redis.call('GET', KEYS[6]) or '0') < tonumber(ARGV[7]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
  redis.call('INCR', KEYS[3])
  redis.call('PEXPIRE', KEYS[3], ARGV[4])
  redis.call('INCR', KEYS[6])
  redis.call('PEXPIRE', KEYS[6], ARGV[4])
  leased = 1
end
if KEYS[4] ~= '' then
  redis.call('INCR', KEYS[4])
  redis.call('PEXPIRE', KEYS[4], 120000)
end
if KEYS[5] ~= '' then
  local now = tonumber(ARGV[9])
  redis.call('SET', KEYS[5], ARGV[6], 'PX', ARGV[5])
  redis.call('ZADD', KEYS[7], now + tonumber(ARGV[5]), KEYS[5])
  redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', now)
  local over = redis.call('ZCARD', KEYS[7]) - tonumber(ARGV[8])
  if over > 0 then
    local dropped = redis.call('ZPOPMIN', KEYS[7], over)
    for i = 1, #dropped, 2 do redis.call('DEL', dropped[i]) end
  end
  redis.call('PEXPIRE', KEYS[7], ARGV[5])
end
return leased`);

// After a report reached Kafka: settle its lease and record the report time of the instance
// (RedisKeys.lastReport) — one call. Whoever removes a lease from the expiry set owns it (report or
// sweeper), and only a report for the lease's own instance may (another tenant's leaves it open).
// KEYS: expiries, leases, lastReport.
// ARGV: selectionId ('' = none), inflightPrefix, instanceId, now, lastReportTtlMs, openLeasesPrefix.
const REPORTED = new LuaScript(`
redis.call('SET', KEYS[3], ARGV[4], 'PX', ARGV[5])
if ARGV[1] == '' then return 0 end
local lease = redis.call('HGET', KEYS[2], ARGV[1])
if not lease or string.sub(lease, 1, #ARGV[3] + 1) ~= ARGV[3] .. '|' then return 0 end
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
local k = ARGV[2] .. ARGV[3]
if tonumber(redis.call('GET', k) or '0') > 0 then redis.call('DECR', k) end
local c = ARGV[6] .. string.match(lease, '^[^|]*|([^|]*)')
if tonumber(redis.call('GET', c) or '0') > 0 then redis.call('DECR', c) end
return 1`);

// Pops up to ARGV[2] leases that expired before ARGV[1]; each is settled like a report's, and flagged
// when its instance had an outcome reported since the lease was taken (see RedisKeys.lastReport).
// KEYS: expiries, leases. ARGV: now, limit, inflightPrefix, lastReportPrefix, openLeasesPrefix.
const SWEEP = new LuaScript(`
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  local lease = redis.call('HGET', KEYS[2], id)
  redis.call('HDEL', KEYS[2], id)
  if lease then
    local inst, proj, at = string.match(lease, '^([^|]+)|([^|]*)|[^|]*|([^|]+)')
    local k = ARGV[3] .. inst
    if tonumber(redis.call('GET', k) or '0') > 0 then redis.call('DECR', k) end
    local c = ARGV[5] .. proj
    if tonumber(redis.call('GET', c) or '0') > 0 then redis.call('DECR', c) end
    local last = tonumber(redis.call('GET', ARGV[4] .. inst) or '0')
    out[#out + 1] = id
    out[#out + 1] = lease
    out[#out + 1] = (last >= tonumber(at)) and '1' or '0'
  end
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

const encodeLease = (l: Lease): string => `${l.instanceId}|${l.projectId}|${l.probe ? 1 : 0}|${l.at}|${l.expiresAt}`;

function decodeLease(selectionId: string, value: string): Lease | null {
  const [instanceId, projectId, probe, at, expiresAt] = value.split('|');
  if (!instanceId || !projectId) return null;
  return { selectionId, instanceId, projectId, probe: probe === '1', at: Number(at), expiresAt: Number(expiresAt) };
}

/**
 * The api's Redis adapter for routing: select context, leases, affinity, rpm/tpm counters. Every call
 * is named and goes through the Redis circuit: bounded in time, and refused at once while Redis is
 * known to be down.
 */
export class RoutingState {
  constructor(private readonly redis: Redis, private readonly keys: RedisKeys, private readonly circuit: RedisCircuit) {}

  async selectContext(args: {
    projectId: string;
    affinityKey: string | null;
    affinityTtlMs: number;
    counters: readonly { id: string; inflight: boolean; rpm: boolean; tpm: boolean }[];
    now: number;
  }): Promise<SelectContext> {
    const minute = minuteOf(args.now);
    const keys = [this.keys.selectRate(args.projectId, Math.floor(args.now / 1000)), args.affinityKey ?? '', args.affinityKey ? this.keys.affinityIndex(args.projectId) : ''];
    const slots: { map: Map<string, number>; id: string }[] = [];
    const ctx: SelectContext = { rate: 0, boundInstanceId: null, inflight: new Map(), rpm: new Map(), tpm: new Map() };
    for (const c of args.counters) {
      if (c.inflight) { keys.push(this.keys.inflight(c.id)); slots.push({ map: ctx.inflight, id: c.id }); }
      if (c.rpm) { keys.push(this.keys.rpm(c.id, minute)); slots.push({ map: ctx.rpm, id: c.id }); }
      if (c.tpm) { keys.push(this.keys.tpm(c.id, minute)); slots.push({ map: ctx.tpm, id: c.id }); }
    }
    const [rate, bound, counts] = (await this.circuit.run('select_context', () => SELECT_CONTEXT.run(this.redis, keys, [args.affinityTtlMs, args.now]))) as [number, string | null, number[]];
    ctx.rate = rate;
    ctx.boundInstanceId = bound || null;
    slots.forEach((slot, i) => slot.map.set(slot.id, counts[i] ?? 0));
    return ctx;
  }

  /**
   * Records a decision: its lease (settled by the report or expired by the sweeper), the in-flight
   * count, this minute's rpm counter and the affinity binding when it is new or moved. One script,
   * run in the background of the select. Resolves false when the project was at its open-lease cap.
   */
  async recordDecision(d: {
    lease: Lease; leaseTtlMs: number; countRpm: boolean; affinityKey: string | null; bind: boolean; affinityTtlMs: number;
    maxOpenLeases: number; maxAffinityBindings: number;
  }): Promise<boolean> {
    const { lease } = d;
    const leased = await this.circuit.run('decision.record', () => RECORD.run(
      this.redis,
      [
        this.keys.leaseExpiries(),
        this.keys.leases(),
        this.keys.inflight(lease.instanceId),
        d.countRpm ? this.keys.rpm(lease.instanceId, minuteOf(lease.at)) : '',
        d.affinityKey && d.bind ? d.affinityKey : '',
        this.keys.openLeases(lease.projectId),
        this.keys.affinityIndex(lease.projectId),
      ],
      [lease.selectionId, lease.expiresAt, encodeLease(lease), d.leaseTtlMs * 2, d.affinityTtlMs, lease.instanceId, d.maxOpenLeases, d.maxAffinityBindings, lease.at],
    ));
    return leased === 1;
  }

  /**
   * Claims up to `limit` expired leases (each exactly once across replicas). `reported` says the
   * instance had an outcome reported since the lease was taken, by a client that does not send
   * selectionIds: not a timeout.
   */
  async sweepExpired(now: number, limit: number): Promise<(Lease & { reported: boolean })[]> {
    const flat = (await this.circuit.run('leases.sweep', () => SWEEP.run(this.redis, [this.keys.leaseExpiries(), this.keys.leases()], [now, limit, this.keys.inflight(''), this.keys.lastReport(''), this.keys.openLeases('')]), 2000)) as string[];
    const out: (Lease & { reported: boolean })[] = [];
    for (let i = 0; i + 2 < flat.length; i += 3) {
      const lease = decodeLease(flat[i]!, flat[i + 1]!);
      if (lease) out.push({ ...lease, reported: flat[i + 2] === '1' });
    }
    return out;
  }

  /**
   * After a report reached Kafka: settles its lease (if it names one of this instance) and records the
   * instance's report time, in one call.
   */
  async reported(instanceId: string, selectionId: string | undefined, now: number, leaseTtlMs: number): Promise<void> {
    await this.circuit.run('report.settle', () => REPORTED.run(
      this.redis,
      [this.keys.leaseExpiries(), this.keys.leases(), this.keys.lastReport(instanceId)],
      [selectionId ?? '', this.keys.inflight(''), instanceId, now, leaseTtlMs * 2, this.keys.openLeases('')],
    ));
  }

  async addTokens(instanceId: string, tokens: number, now: number): Promise<void> {
    if (tokens <= 0) return;
    const key = this.keys.tpm(instanceId, minuteOf(now));
    await this.circuit.run('tpm.add', () => this.redis.multi().incrby(key, tokens).pexpire(key, 120_000).exec());
  }

  async clearAffinity(affinityKey: string): Promise<void> {
    await this.circuit.run('affinity.clear', () => this.redis.del(affinityKey));
  }
}
