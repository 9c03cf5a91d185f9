import { createHash } from 'node:crypto';
import type { HealthRecord } from '@apg/core';
import type { WriteMode } from './instance-health';

/**
 * One batch's Redis write as a single script, so it is atomic and cannot race an admin's action:
 *
 * - each health record goes into the `breaker-states` hash unless its `WriteMode` forbids it
 *   (`n`: not over a stored FORCED_* record; `k`: only over the same state with the same `since`, or
 *   nothing; `a`: only where nothing is stored); refused ids come back with the stored JSON so the
 *   caller takes it over;
 * - the records written are published in ONE message `{"records":{id: record, ...}}`;
 * - window snapshots are set with their TTL;
 * - the partition's next offset to apply is stored with them, so an aggregator that takes the
 *   partition over (or restarts) skips what is already in Redis even if the Kafka commit was lost.
 *
 * KEYS: [1] breaker-states hash, [2] applied-offsets hash, [3..] window keys.
 * ARGV: [1] channel, [2] offset field ('' = none), [3] offset value, [4] offsets TTL ms,
 *       [5] record count n, then n × (id, mode, json, state, since), then per window key (json, ttl ms).
 * Returns [id1, storedJson1, id2, storedJson2, ...] for the refused records.
 */
export const GUARDED_WRITE_LUA = `
local hash = KEYS[1]
local n = tonumber(ARGV[5])
local written = {}
local refused = {}
for i = 0, n - 1 do
  local base = 6 + i * 5
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
local w = 6 + n * 5
for k = 3, #KEYS do
  redis.call('SET', KEYS[k], ARGV[w], 'PX', ARGV[w + 1])
  w = w + 2
end
if ARGV[2] ~= '' then
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
end
return refused
`;

export const GUARDED_WRITE_SHA = createHash('sha1').update(GUARDED_WRITE_LUA).digest('hex');

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

export interface OffsetWrite {
  field: string;
  /** Next offset to apply on that partition. */
  next: string;
}

const MODE_CODE: Record<WriteMode, string> = { normal: 'n', keep: 'k', absent: 'a' };

/** KEYS and ARGV of one guarded write (pure, so the layout is unit-tested). */
export function guardedWriteArgs(
  keys: { hash: string; offsets: string; channel: string; offsetsTtlMs: number },
  records: RecordWrite[],
  windows: WindowWrite[],
  offset: OffsetWrite | null,
): { keys: string[]; argv: string[] } {
  const argv = [keys.channel, offset?.field ?? '', offset?.next ?? '', String(keys.offsetsTtlMs), String(records.length)];
  for (const r of records) {
    argv.push(r.instanceId, MODE_CODE[r.mode], JSON.stringify(r.record), r.record.state, String(r.record.since));
  }
  for (const w of windows) argv.push(w.json, String(Math.max(1, Math.round(w.ttlMs))));
  return { keys: [keys.hash, keys.offsets, ...windows.map((w) => w.key)], argv };
}

/** Parses the script's reply into refused id → stored JSON. */
export function refusedOf(reply: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (!Array.isArray(reply)) return out;
  for (let i = 0; i + 1 < reply.length; i += 2) {
    const id: unknown = reply[i];
    const stored: unknown = reply[i + 1];
    if (typeof id === 'string' && typeof stored === 'string') out.set(id, stored);
  }
  return out;
}
