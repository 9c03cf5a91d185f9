import { Redis } from 'ioredis';

export type { Redis };

/**
 * A Redis connection that never crashes the process: errors are reported through `onError`
 * and ioredis keeps reconnecting. Commands fail fast while disconnected instead of queueing,
 * so a select never waits on a dead Redis.
 */
export function createRedis(url: string, onError: (err: Error) => void = () => undefined): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 100, 2000),
    lazyConnect: false,
  });
  redis.on('error', onError);
  return redis;
}

/**
 * Every Redis key and channel the gateway uses, under one configurable prefix. Keeping them in one
 * place is what makes a per-test prefix (and a clean teardown) possible.
 */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  /**
   * Hash instanceId → JSON breaker snapshot. No TTL: an OPEN breaker must survive quiet periods;
   * fields are deleted when an instance is deleted.
   */
  breakerStates(): string {
    return `${this.prefix}breaker-states`;
  }

  /** Channel on which the aggregator announces each breaker change (payload: {instanceId, snapshot}). */
  breakerChannel(): string {
    return `${this.prefix}events:breaker`;
  }

  /** Channel on which the api announces registry changes (instances, keys, projects) to its replicas. */
  registryChannel(): string {
    return `${this.prefix}events:registry`;
  }

  /** Sliding-window snapshot of one instance, for aggregator restarts; TTL = window length + margin. */
  window(instanceId: string): string {
    return `${this.prefix}window:${instanceId}`;
  }

  /**
   * Probe permits handed out in one HALF_OPEN period (`since` = when it began), shared by all api
   * replicas; TTL = the probe period's upper bound, so a stuck counter cannot outlive its period.
   */
  probePermits(instanceId: string, since: number): string {
    return `${this.prefix}probe:${instanceId}:${since}`;
  }

  /** Pattern matching every key of this prefix (test teardown). */
  all(): string {
    return `${this.prefix}*`;
  }
}

/** Deletes every key under the prefix (SCAN, never KEYS). Used by tests and `reset` tooling. */
export async function deleteByPrefix(redis: Redis, keys: RedisKeys): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', keys.all(), 'COUNT', 500);
    cursor = next;
    if (batch.length) deleted += await redis.del(...batch);
  } while (cursor !== '0');
  return deleted;
}
