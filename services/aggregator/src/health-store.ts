import type { SlidingWindow } from '@apg/core';
import { namedIo, type IoMetrics, type Redis, type RedisKeys } from '@apg/platform';
import { GUARDED_WRITE_LUA, GUARDED_WRITE_SHA, guardedWriteArgs, refusedOf, type OffsetWrite, type RecordWrite } from './guarded-write';
import { parseStoredHealth, type StoredHealth } from './health-record-codec';

/**
 * Applied offsets are only read when a partition is (re)assigned; a week covers any realistic gap
 * between two owners, after which a missing entry only means "apply from the committed offset".
 */
const OFFSETS_TTL_MS = 7 * 24 * 3600_000;
/** The per-process sentinel outlives any Redis blip but not the process by long. */
const SENTINEL_TTL_MS = 3600_000;

export interface SaveInput {
  records: RecordWrite[];
  windows: { instanceId: string; window: SlidingWindow; ttlMs: number }[];
  offset?: OffsetWrite | null;
}

/**
 * The aggregator's Redis adapter: health records (read by every api replica) and their
 * announcements, window snapshots and applied offsets that let a restarted or new owner carry on
 * where the last one stopped, and the sentinel that reveals a flushed or restarted Redis.
 */
export class HealthStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly groupId: string,
    private readonly io?: IoMetrics,
  ) {}

  async load(instanceIds: string[]): Promise<Map<string, { stored: StoredHealth | null; window: SlidingWindow | null }>> {
    const out = new Map<string, { stored: StoredHealth | null; window: SlidingWindow | null }>();
    if (instanceIds.length === 0) return out;
    const results = await namedIo(this.io, 'redis', 'aggregator.load', () => {
      const pipe = this.redis.pipeline();
      pipe.hmget(this.keys.breakerStates(), ...instanceIds);
      for (const id of instanceIds) pipe.get(this.keys.window(id));
      return pipe.exec();
    });
    if (!results) throw new Error('redis pipeline aborted');
    const [breakerErr, breakers] = results[0]!;
    if (breakerErr) throw breakerErr;
    instanceIds.forEach((id, i) => {
      const [winErr, win] = results[i + 1]!;
      if (winErr) throw winErr;
      out.set(id, { stored: parseStoredHealth((breakers as (string | null)[])[i]), window: parseWindow(win as string | null) });
    });
    return out;
  }

  /** Every stored record (raw JSON), to remember what to restore should Redis lose it. */
  async loadAll(): Promise<Record<string, string>> {
    return namedIo(this.io, 'redis', 'aggregator.load_all', () => this.redis.hgetall(this.keys.breakerStates()));
  }

  async loadRaw(instanceId: string): Promise<string | null> {
    return namedIo(this.io, 'redis', 'aggregator.load_one', () => this.redis.hget(this.keys.breakerStates(), instanceId));
  }

  /** Next offset to apply on a partition, as stored by the last owner's write; `null` when unknown. */
  async appliedOffset(field: string): Promise<bigint | null> {
    const v = await namedIo(this.io, 'redis', 'aggregator.applied_offset', () => this.redis.hget(this.keys.aggregatorOffsets(this.groupId), field));
    return v && /^\d+$/.test(v) ? BigInt(v) : null;
  }

  /**
   * Writes records, windows and the applied offset in one atomic script, publishing the records
   * written in one message. Returns the records Redis refused (id → stored JSON).
   */
  async save(input: SaveInput): Promise<Map<string, string>> {
    if (input.records.length === 0 && input.windows.length === 0 && !input.offset) return new Map();
    const { keys, argv } = guardedWriteArgs(
      { hash: this.keys.breakerStates(), offsets: this.keys.aggregatorOffsets(this.groupId), channel: this.keys.breakerChannel(), offsetsTtlMs: OFFSETS_TTL_MS },
      input.records,
      input.windows.map((w) => ({ key: this.keys.window(w.instanceId), json: JSON.stringify(w.window), ttlMs: w.ttlMs })),
      input.offset ?? null,
    );
    const reply = await namedIo(this.io, 'redis', 'aggregator.guarded_write', async () => {
      try {
        return await this.redis.evalsha(GUARDED_WRITE_SHA, keys.length, ...keys, ...argv);
      } catch (err) {
        // After a Redis restart (or SCRIPT FLUSH) the script is gone: EVAL loads it again.
        if (!(err instanceof Error) || !err.message.includes('NOSCRIPT')) throw err;
        return this.redis.eval(GUARDED_WRITE_LUA, keys.length, ...keys, ...argv);
      }
    });
    return refusedOf(reply);
  }

  /**
   * Refreshes this process's sentinel and tells whether Redis lost data since the last check: the
   * sentinel was missing, or the breaker-states hash is gone.
   */
  async checkIntact(token: string): Promise<{ sentinelMissing: boolean; hashMissing: boolean }> {
    const results = await namedIo(this.io, 'redis', 'aggregator.sentinel', () =>
      this.redis.multi()
        .set(this.keys.aggregatorSentinel(token), '1', 'PX', SENTINEL_TTL_MS, 'GET')
        .exists(this.keys.breakerStates())
        .exec(),
    );
    const failed = results?.find(([err]) => err);
    if (!results || failed) throw failed?.[0] ?? new Error('redis transaction aborted');
    return { sentinelMissing: results[0]![1] === null, hashMissing: results[1]![1] === 0 };
  }

  async removeSentinel(token: string): Promise<void> {
    await namedIo(this.io, 'redis', 'aggregator.sentinel_remove', () => this.redis.del(this.keys.aggregatorSentinel(token)));
  }
}

function parseWindow(json: string | null): SlidingWindow | null {
  if (!json) return null;
  try {
    const w = JSON.parse(json) as SlidingWindow;
    return Array.isArray(w?.buckets) ? w : null;
  } catch {
    return null;
  }
}
