import type { SlidingWindow } from '@apg/core';
import { namedIo, type IoMetrics, type Redis, type RedisKeys } from '@apg/platform';
import { encodeAggregatorHeartbeat, type AggregatorHeartbeat } from '@apg/contracts';
import {
  CLAIM_PARTITION,
  GUARDED_WRITE,
  guardedWriteArgs,
  guardedWriteResult,
  type Fence,
  type GuardedWriteResult,
  type OffsetWrite,
  type RecordWrite,
} from './guarded-write';
import { parseStoredHealth, type StoredHealth } from './health-record-codec';

/**
 * Applied offsets are only read when a partition is (re)assigned; a week covers any realistic gap
 * between two owners, after which a missing entry only means "apply from the committed offset".
 */
const OFFSETS_TTL_MS = 7 * 24 * 3600_000;
/** The per-process sentinel outlives any Redis blip but not the process by long. */
const SENTINEL_TTL_MS = 3600_000;
/** The heartbeat key outlives its writer by 30 s (the contract's stale limit is 3 s). */
const HEARTBEAT_TTL_MS = 30_000;

export interface SaveInput {
  records: RecordWrite[];
  windows: { instanceId: string; window: SlidingWindow; ttlMs: number }[];
  /** EventIds counted in each instance's window by this write. */
  applied?: { instanceId: string; eventIds: string[]; retentionMs: number; maxCount: number }[];
  offset?: OffsetWrite | null;
  /** The writer's claim on the partition; `null` only for writes no partition owns (restoring remembered records). */
  fence: Fence | null;
  now: number;
}

/** A partition taken for a new generation: the writer's fencing epoch and where the last owner stopped. */
export interface PartitionClaim {
  epoch: string;
  /** Next offset to apply, as stored by the last owner's write; `null` when unknown. */
  applied: bigint | null;
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

  /** Takes a partition for this generation (see `CLAIM_PARTITION_LUA`). */
  async claimPartition(field: string): Promise<PartitionClaim> {
    const reply = await namedIo(this.io, 'redis', 'aggregator.claim_partition', () =>
      CLAIM_PARTITION.run(this.redis, [this.keys.aggregatorEpochs(this.groupId), this.keys.aggregatorOffsets(this.groupId)], [field, OFFSETS_TTL_MS]));
    const [epoch, applied] = Array.isArray(reply) ? (reply as unknown[]) : [];
    if (typeof epoch !== 'string' || !/^\d+$/.test(epoch)) throw new Error(`unexpected claim reply: ${JSON.stringify(reply)}`);
    return { epoch, applied: typeof applied === 'string' && /^\d+$/.test(applied) ? BigInt(applied) : null };
  }

  /** The eventIds among `byInstance`'s that were already counted in their instance's window. */
  async appliedEvents(byInstance: Map<string, string[]>): Promise<Set<string>> {
    const out = new Set<string>();
    const entries = [...byInstance].filter(([, ids]) => ids.length > 0);
    if (entries.length === 0) return out;
    const results = await namedIo(this.io, 'redis', 'aggregator.applied_events', () => {
      const pipe = this.redis.pipeline();
      for (const [id, ids] of entries) pipe.zmscore(this.keys.aggregatorAppliedEvents(id), ...ids);
      return pipe.exec();
    });
    if (!results) throw new Error('redis pipeline aborted');
    entries.forEach(([, ids], i) => {
      const [err, scores] = results[i]!;
      if (err) throw err;
      (scores as (string | null)[]).forEach((score, j) => {
        if (score !== null) out.add(ids[j]!);
      });
    });
    return out;
  }

  /** The group's heartbeat (one key, rewritten by every member that holds partitions). */
  async writeHeartbeat(beat: AggregatorHeartbeat): Promise<void> {
    await namedIo(this.io, 'redis', 'aggregator.heartbeat', () =>
      this.redis.set(this.keys.aggregatorHeartbeat(), encodeAggregatorHeartbeat(beat), 'PX', HEARTBEAT_TTL_MS));
  }

  /**
   * Writes records, windows, applied eventIds and the applied offset in one atomic script, publishing
   * the records written in one message. Returns whether the writer was fenced off (nothing written),
   * or else the records Redis refused (id → stored JSON).
   */
  async save(input: SaveInput): Promise<GuardedWriteResult> {
    const applied = (input.applied ?? []).filter((a) => a.eventIds.length > 0);
    if (input.records.length === 0 && input.windows.length === 0 && applied.length === 0 && !input.offset) return { fenced: false, refused: new Map() };
    const { keys, argv } = guardedWriteArgs(
      {
        hash: this.keys.breakerStates(),
        offsets: this.keys.aggregatorOffsets(this.groupId),
        epochs: this.keys.aggregatorEpochs(this.groupId),
        channel: this.keys.breakerChannel(),
        offsetsTtlMs: OFFSETS_TTL_MS,
      },
      {
        records: input.records,
        windows: input.windows.map((w) => ({ key: this.keys.window(w.instanceId), json: JSON.stringify(w.window), ttlMs: w.ttlMs })),
        applied: applied.map((a) => ({ key: this.keys.aggregatorAppliedEvents(a.instanceId), eventIds: a.eventIds, retentionMs: a.retentionMs, maxCount: a.maxCount })),
        offset: input.offset ?? null,
        fence: input.fence,
        now: input.now,
      },
    );
    const reply = await namedIo(this.io, 'redis', 'aggregator.guarded_write', () => GUARDED_WRITE.run(this.redis, keys, argv));
    return guardedWriteResult(reply);
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
