import type { HealthRecord } from '@apg/core';
import { initialBreaker } from '@apg/core';
import type { Redis } from '@apg/platform';
import type { StackNames } from '../stack';
import type { TestTenant } from '../tenant';

export interface Registered {
  id: string;
  businessId: string;
  apiIdentifier: string;
}

interface Enveloped<T> {
  data: T;
}

/** Registers instances for a tenant; returns them in the order given. */
export async function register(
  tenant: TestTenant,
  items: { businessId: string; apiIdentifier?: string; routingParams?: Record<string, unknown>; userId?: string }[],
): Promise<Registered[]> {
  const res = await tenant.http.post<Enveloped<Registered[]>>('/api/instances/batch', {
    instances: items.map((i) => ({ apiType: 'MODEL', apiIdentifier: i.apiIdentifier ?? 'gpt4o', ...i })),
  });
  if (res.status !== 200) throw new Error(`register failed: ${res.status} ${res.text}`);
  return items.map((i) => res.body.data.find((d) => d.businessId === i.businessId)!);
}

/**
 * Plays the aggregator: writes a health record and announces it the way the aggregator does, so
 * api behaviour can be tested state by state.
 */
export async function setHealth(redis: Redis, names: StackNames, instanceId: string, patch: Partial<HealthRecord>): Promise<HealthRecord> {
  const now = Date.now();
  const record: HealthRecord = { ...initialBreaker(now), cooldownUntil: null, stats: null, updatedAt: now, ...patch };
  await redis
    .multi()
    .hset(`${names.redisPrefix}breaker-states`, instanceId, JSON.stringify(record))
    .publish(`${names.redisPrefix}events:breaker`, JSON.stringify({ records: { [instanceId]: record } }))
    .exec();
  return record;
}
