import {
  force,
  initialBreaker,
  breakerConfigOf,
  windowStats,
  type BreakerConfig,
  type ForceMode,
  type HealthRecord,
  type SlidingWindow,
  type WindowStats,
} from '@apg/core';
import { BreakerTransitionStore, type BreakerTransitionRecord, type Redis, type RedisKeys } from '@apg/platform';
import type { InstanceRecord } from '../instances/instance-store';
import type { BreakerCache } from './breaker-cache';

export interface InstanceState {
  instanceId: string;
  record: HealthRecord;
  /** Live window figures as the aggregator last saved them; null when it never saw the instance. */
  window: (WindowStats & { windowMs: number }) | null;
  config: BreakerConfig;
  ignoredOverrides: string[];
  transitions: BreakerTransitionRecord[];
}

/**
 * Admin control of breakers. A forced state is written by the api itself (so it works while no
 * aggregator runs), announced to every api replica, and signalled to the aggregators, which drop their
 * copy and reload it; their writes never overwrite a FORCED_* record. Every change is audited.
 */
export class BreakerAdmin {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly cache: BreakerCache,
    private readonly transitions: BreakerTransitionStore,
    private readonly breakerDefaults: BreakerConfig,
    private readonly now: () => number = Date.now,
  ) {}

  async force(instance: InstanceRecord, mode: ForceMode): Promise<HealthRecord> {
    const now = this.now();
    const current = (await this.read(instance.id)) ?? emptyRecord(now);
    const result = force(current, mode, now);
    const record: HealthRecord = { ...current, ...result.snapshot, updatedAt: now };
    await this.redis
      .multi()
      .hset(this.keys.breakerStates(), instance.id, JSON.stringify(record))
      .publish(this.keys.breakerChannel(), JSON.stringify({ records: { [instance.id]: record } }))
      .publish(this.keys.controlChannel(), JSON.stringify({ kind: 'forced', instanceId: instance.id }))
      .exec();
    this.cache.apply(instance.id, record);
    if (result.transition) {
      await this.transitions.insertMany([{ ...result.transition, instanceId: instance.id, projectId: instance.projectId, actor: 'admin' }]);
    }
    return record;
  }

  async state(instance: InstanceRecord): Promise<InstanceState> {
    const now = this.now();
    const { config, ignored } = breakerConfigOf(this.breakerDefaults, instance.routingParams);
    const [record, windowJson, transitions] = await Promise.all([
      this.read(instance.id),
      this.redis.get(this.keys.window(instance.id)),
      this.transitions.listByInstance(instance.id, 50),
    ]);
    let window: InstanceState['window'] = null;
    if (windowJson) {
      try {
        const w = JSON.parse(windowJson) as SlidingWindow;
        const bucketMs = Math.max(1000, Math.round(config.windowMs / w.buckets.length || 1));
        window = { ...windowStats(w, now, { windowMs: config.windowMs, bucketMs, slowCallMs: config.slowCallMs }), windowMs: config.windowMs };
      } catch {
        window = null;
      }
    }
    return { instanceId: instance.id, record: record ?? emptyRecord(now), window, config, ignoredOverrides: ignored, transitions };
  }

  private async read(instanceId: string): Promise<HealthRecord | null> {
    const json = await this.redis.hget(this.keys.breakerStates(), instanceId);
    if (!json) return null;
    try {
      return JSON.parse(json) as HealthRecord;
    } catch {
      return null;
    }
  }
}

function emptyRecord(now: number): HealthRecord {
  return { ...initialBreaker(now), cooldownUntil: null, stats: null, updatedAt: now };
}
