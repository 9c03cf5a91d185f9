import type { HealthRecord } from '@apg/core';
import { LuaScript } from '@apg/platform';
import type { WriteMode } from './instance-health';
import { redisTtlMs } from './redis-bounds';

/**
 * One batch's Redis write as a single script, so it is atomic and cannot race an admin's action:
 *
 * - fencing first: when the write names a partition, the writer's epoch must not be below the one
 *   stored for it (raised by whoever took the partition since, see `CLAIM_PARTITION_LUA`); otherwise
 *   nothing at all is written and the reply is `{'fenced'}`. A lower or missing stored epoch (Redis lost
 *   it) is raised to the writer's, since epochs only ever move up;
 * - each health record goes into the `breaker-states` hash unless its `WriteMode` forbids it
 *   (`n`: not over a stored FORCED_* record; `k`: only over the same state with the same `since`, or
 *   nothing; `a`: only where nothing is stored); refused ids come back with the stored JSON so the
 *   caller takes it over;
 * - the records written are published in ONE message `{"records":{id: record, ...}}`;
 * - window snapshots are set with their TTL;
 * - the eventIds applied by the batch are added to each instance's applied set (trimmed by age and
 *   count), in the same write as the windows they are counted in, so "counted" and "remembered as
 *   counted" can never disagree;
 * - the partition's next offset to apply is stored with them, so an aggregator that takes the
 *   partition over (or restarts) skips what is already in Redis even if the Kafka commit was lost.
 *
 * KEYS: [1] breaker-states hash, [2] applied-offsets hash, [3] epochs hash, then the window keys, then
 *       the applied-event keys.
 * ARGV: [1] channel, [2] offset field ('' = none), [3] offset value, [4] offsets and epochs TTL ms,
 *       [5] fence field ('' = unfenced), [6] fence epoch, [7] applied-at ms, [8] record count n,
 *       [9] window count w, then n × (id, mode, json, state, since), then w × (json, ttl ms), then per
 *       applied-event key (retention ms, max count, k, k eventIds).
 * Returns {'fenced'} or {'ok', id1, storedJson1, id2, storedJson2, ...} for the refused records.
 */
export const GUARDED_WRITE_LUA = `
if ARGV[5] ~= '' then
  local stored = tonumber(redis.call('HGET', KEYS[3], ARGV[5]) or '0') or 0
  local mine = tonumber(ARGV[6])
  if stored > mine then return {'fenced'} end
  if stored < mine then redis.call('HSET', KEYS[3], ARGV[5], ARGV[6]) end
  redis.call('PEXPIRE', KEYS[3], ARGV[4])
end
local hash = KEYS[1]
local n = tonumber(ARGV[8])
local nw = tonumber(ARGV[9])
local written = {}
local refused = {'ok'}
for i = 0, n - 1 do
  local base = 10 + i * 5
  local id, mode, json, state, since = ARGV[base], ARGV[base + 1], ARGV[base + 2], ARGV[base + 3], ARGV[base + 4]
  local stored = redis.call('HGET', hash, id)
  local ok = true
  if stored then
    if mode == 'a' then
      ok = false
    else
      local decoded, cur = pcall(cjson.decode, stored)
      if decoded and type(cur) == 'table' and type(cur.state) == 'string' then
        if mode == 'n' then
          ok = string.sub(cur.state, 1, 7) ~= 'FORCED_'
        else
          ok = cur.state == state and tonumber(cur.since) == tonumber(since)
        end
      end
    end
  end
  if ok then
    redis.call('HSET', hash, id, json)
    written[#written + 1] = cjson.encode(id) .. ':' .. json
  else
    refused[#refused + 1] = id
    refused[#refused + 1] = stored
  end
end
if #written > 0 then
  redis.call('PUBLISH', ARGV[1], '{"records":{' .. table.concat(written, ',') .. '}}')
end
local a = 10 + n * 5
for k = 4, 3 + nw do
  redis.call('SET', KEYS[k], ARGV[a], 'PX', ARGV[a + 1])
  a = a + 2
end
local at = tonumber(ARGV[7])
for k = 4 + nw, #KEYS do
  local retention, cap, count = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  a = a + 3
  local i = 0
  while i < count do
    local args = {}
    for j = i, math.min(i + 499, count - 1) do
      args[#args + 1] = at
      args[#args + 1] = ARGV[a + j]
    end
    redis.call('ZADD', KEYS[k], unpack(args))
    i = i + 500
  end
  a = a + count
  redis.call('ZREMRANGEBYSCORE', KEYS[k], '-inf', '(' .. (at - retention))
  local size = redis.call('ZCARD', KEYS[k])
  if size > cap then redis.call('ZREMRANGEBYRANK', KEYS[k], 0, size - cap - 1) end
  redis.call('PEXPIRE', KEYS[k], retention)
end
if ARGV[2] ~= '' then
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
end
return refused
`;

/**
 * Takes a partition for a new generation: raises its fencing epoch to max(stored + 1, Redis' clock in
 * µs) and reads the offset the last owner applied up to, in one step, so everything the last owner wrote
 * before the raise is visible and nothing it writes after it is accepted. The clock makes a later claim
 * win even after Redis lost the hash (a stale member's epoch is from an earlier claim, so lower).
 * `%.0f`: Lua would print 1.7e15 as "1.7e+15".
 *
 * KEYS: [1] epochs hash, [2] applied-offsets hash. ARGV: [1] field, [2] TTL ms.
 * Returns {epoch, appliedOffset or false}.
 */
export const CLAIM_PARTITION_LUA = `
local t = redis.call('TIME')
local clock = tonumber(t[1]) * 1000000 + tonumber(t[2])
local stored = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') or 0
local epoch = string.format('%.0f', math.max(stored + 1, clock))
redis.call('HSET', KEYS[1], ARGV[1], epoch)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {epoch, redis.call('HGET', KEYS[2], ARGV[1])}
`;

export const GUARDED_WRITE = new LuaScript(GUARDED_WRITE_LUA);
export const CLAIM_PARTITION = new LuaScript(CLAIM_PARTITION_LUA);

export interface RecordWrite {
  instanceId: string;
  mode: WriteMode;
  record: HealthRecord;
}

export interface WindowWrite {
  key: string;
  json: string;
  ttlMs: number;
}

/** The eventIds a write counts in one instance's window. */
export interface AppliedEventsWrite {
  key: string;
  eventIds: string[];
  retentionMs: number;
  maxCount: number;
}

export interface OffsetWrite {
  field: string;
  /** Next offset to apply on that partition. */
  next: string;
}

/** The writer's claim on a partition: the write is refused if someone took the partition since. */
export interface Fence {
  field: string;
  epoch: string;
}

export interface GuardedWriteInput {
  records: RecordWrite[];
  windows: WindowWrite[];
  applied: AppliedEventsWrite[];
  offset: OffsetWrite | null;
  fence: Fence | null;
  /** Score of the eventIds added (epoch ms). */
  now: number;
}

const MODE_CODE: Record<WriteMode, string> = { normal: 'n', keep: 'k', absent: 'a' };

/** KEYS and ARGV of one guarded write (pure, so the layout is unit-tested). Every number is clamped. */
export function guardedWriteArgs(
  keys: { hash: string; offsets: string; epochs: string; channel: string; offsetsTtlMs: number },
  input: GuardedWriteInput,
): { keys: string[]; argv: string[] } {
  const { records, windows, applied, offset, fence } = input;
  const argv = [
    keys.channel, offset?.field ?? '', offset?.next ?? '', String(redisTtlMs(keys.offsetsTtlMs, 1)),
    fence?.field ?? '', fence?.epoch ?? '0', String(Math.round(input.now)), String(records.length), String(windows.length),
  ];
  for (const r of records) {
    argv.push(r.instanceId, MODE_CODE[r.mode], JSON.stringify(r.record), r.record.state, String(r.record.since));
  }
  for (const w of windows) argv.push(w.json, String(redisTtlMs(w.ttlMs, 1)));
  for (const a of applied) argv.push(String(redisTtlMs(a.retentionMs, 1)), String(Math.min(1e9, Math.max(1, Math.floor(a.maxCount)))), String(a.eventIds.length), ...a.eventIds);
  return { keys: [keys.hash, keys.offsets, keys.epochs, ...windows.map((w) => w.key), ...applied.map((a) => a.key)], argv };
}

export type GuardedWriteResult = { fenced: true } | { fenced: false; refused: Map<string, string> };

/** Parses the script's reply: fenced, or the refused records (id → stored JSON). */
export function guardedWriteResult(reply: unknown): GuardedWriteResult {
  if (!Array.isArray(reply) || (reply[0] !== 'ok' && reply[0] !== 'fenced')) throw new Error(`unexpected guarded write reply: ${JSON.stringify(reply)}`);
  if (reply[0] === 'fenced') return { fenced: true };
  const refused = new Map<string, string>();
  for (let i = 1; i + 1 < reply.length; i += 2) {
    const id: unknown = reply[i];
    const stored: unknown = reply[i + 1];
    if (typeof id === 'string' && typeof stored === 'string') refused.set(id, stored);
  }
  return { fenced: false, refused };
}
