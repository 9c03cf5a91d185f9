import { createHash } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import type { RedisTarget } from './config';

export type { Redis };

/**
 * After a failover a connection can still reach the old primary, now a replica (a graceful `SENTINEL
 * FAILOVER` keeps it alive and its clients connected): its writes fail with READONLY.
 * Returning 2 makes ioredis reconnect — through the Sentinels, to the new primary — and resend the
 * command, so the write is not lost and the caller sees no error.
 */
export function reconnectOnReadonly(err: Error): 2 | false {
  return err.message.startsWith('READONLY') ? 2 : false;
}

/**
 * A Redis connection that never crashes the process: errors are reported through `onError`
 * and ioredis keeps reconnecting. Commands fail fast while disconnected instead of queueing,
 * so a select never waits on a dead Redis.
 *
 * With a Sentinel target the connection asks the Sentinels for the current primary on every
 * (re)connect, and `failoverDetector` also subscribes to their `+switch-master`, so a promotion moves
 * the connection at once instead of on its next error. Subscriptions are re-sent on every reconnect
 * (ioredis' autoResubscribe); what was published meanwhile is lost, so subscribers also refresh what
 * they cache on reconnect (the api's Notifier, the aggregator's RedisWatch).
 */
export function createRedis(target: RedisTarget | string, onError: (err: Error) => void = () => undefined): Redis {
  const common: RedisOptions = {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 100, 2000),
    lazyConnect: false,
  };
  const t: RedisTarget = typeof target === 'string' ? { kind: 'url', url: target } : target;
  // Only through Sentinels does a reconnect reach another server; to a fixed URL it would meet the same
  // replica again and resend for ever.
  const redis = t.kind === 'url'
    ? new Redis(t.url, common)
    : new Redis({
      ...common,
      sentinels: t.sentinels,
      name: t.name,
      role: 'master',
      failoverDetector: true,
      reconnectOnError: reconnectOnReadonly,
      // All Sentinels unreachable: keep asking (null would give up for good), at most every second.
      sentinelRetryStrategy: (times) => Math.min(times * 100, 1000),
      sentinelCommandTimeout: 1000,
    });
  redis.on('error', onError);
  keepConnecting(redis, onError);
  return redis;
}

/**
 * ioredis can end a connection for good on its own — seen when a Sentinel's +switch-master closes it while
 * it is still reconnecting after the primary died: status 'end', every later command "Connection is closed".
 * A service must never sit on such a client, so unless the service itself closed it, connect again.
 */
function keepConnecting(redis: Redis, onError: (err: Error) => void): void {
  let closing = false;
  const disconnect = redis.disconnect.bind(redis);
  redis.disconnect = (reconnect = false) => {
    if (!reconnect) closing = true;
    disconnect(reconnect);
  };
  const quit = redis.quit.bind(redis);
  redis.quit = ((...args: Parameters<Redis['quit']>) => {
    closing = true;
    return quit(...args);
  });
  redis.on('end', () => {
    if (closing) return;
    onError(new Error('redis connection ended; connecting again'));
    setTimeout(() => {
      if (!closing && redis.status === 'end') redis.connect().catch(() => undefined);
    }, 500).unref();
  });
}

/**
 * Every Redis key and channel the gateway uses, under one configurable prefix. Keeping them in one
 * place is what makes a per-test prefix (and a clean teardown) possible.
 */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  /**
   * Hash instanceId → JSON `HealthRecord` (breaker snapshot, cool-down, window stats). No TTL: an
   * OPEN breaker must survive quiet periods; fields are deleted when an instance is deleted.
   */
  breakerStates(): string {
    return `${this.prefix}breaker-states`;
  }

  /**
   * Channel on which the aggregator announces health records, one message per batch:
   * `{"records":{"<instanceId>": HealthRecord, ...}}`.
   */
  breakerChannel(): string {
    return `${this.prefix}events:breaker`;
  }

  /**
   * Channel on which the api tells the aggregators that an admin forced a breaker
   * (payload: {kind:'forced', instanceId}); the owner drops its cached state and reloads it.
   */
  controlChannel(): string {
    return `${this.prefix}events:control`;
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

  /**
   * Half-open probes of an instance out now, shared by all replicas (a sorted set: selectionId → when the
   * slot lapses; `h:<selectionId>` = the slot of a probe the breaker reopened on, held until its openUntil). See ProbeSlots.
   */
  probesOut(instanceId: string): string {
    return `${this.prefix}probes-out:${instanceId}`;
  }

  /**
   * Affinity binding (value: instance id), scoped by project, apiType and apiIdentifier so one session
   * key used for two APIs (AgentX's chat and title generation) never collides. The caller-supplied parts
   * are hashed: bounded key length, no delimiter injection. Sliding TTL (set on every use). Count: at
   * most the project's `maxAffinityBindings`, enforced through `affinityIndex()`.
   */
  affinity(projectId: string, apiType: string, apiIdentifier: string, affinityType: string, affinityKey: string): string {
    const h = createHash('sha1').update(`${apiIdentifier}\u0000${affinityType}\u0000${affinityKey}`).digest('hex');
    return `${this.prefix}aff:${projectId}:${apiType}:${h}`;
  }

  /**
   * Sorted set of a project's affinity binding keys (`affinity()`), scored by when each expires; kept in
   * step with every bind and slide, so its size is the number of live bindings and the lowest scores
   * are the least recently used. Binding beyond the project's cap drops those. TTL = the affinity TTL,
   * refreshed with every bind or slide, so the index outlives each binding it counts.
   */
  affinityIndex(projectId: string): string {
    return `${this.prefix}aff-idx:${projectId}`;
  }

  /**
   * Selections made for one project in one second (the project's select quota; a key unlocks exactly
   * one project, so this is the per-key limit too); TTL 2 s. Count: 2 per selecting project.
   */
  selectRate(projectId: string, second: number): string {
    return `${this.prefix}rl:${projectId}:${second}`;
  }

  /**
   * Number of open leases of a project (in `leases()`), kept by the lease scripts: incremented with each
   * lease, decremented when one is settled or swept. Bounds the project's share of the two lease keys
   * (`maxOpenLeases`). TTL twice the lease TTL, refreshed with each lease: once nothing was leased for that
   * long every lease it counted has expired, so a counter that drifted cannot outlive its leases.
   */
  openLeases(projectId: string): string {
    return `${this.prefix}lease-count:${projectId}`;
  }

  /** Open leases of an instance (load for SMART); TTL refreshed on every change to twice the lease TTL. */
  inflight(instanceId: string): string {
    return `${this.prefix}inflight:${instanceId}`;
  }

  /** Selections of an instance in one minute (routingParams.rpm); TTL 120 s. */
  rpm(instanceId: string, minute: number): string {
    return `${this.prefix}rpm:${instanceId}:${minute}`;
  }

  /** Reported tokens of an instance in one minute (routingParams.tpm); TTL 120 s. */
  tpm(instanceId: string, minute: number): string {
    return `${this.prefix}tpm:${instanceId}:${minute}`;
  }

  /**
   * Open decision leases: hash selectionId → `instanceId|projectId|probe|at|expiresAt`. No TTL: a
   * field leaves when its lease is settled by a report or swept on expiry, together with its
   * entry in `leaseExpiries()`. Count: at most `maxOpenLeases` per project (`openLeases()`).
   */
  leases(): string {
    return `${this.prefix}leases`;
  }

  /**
   * Sorted set of open leases by expiry time. No TTL: members leave when settled by a report or
   * swept on expiry (then counted as a timeout).
   */
  leaseExpiries(): string {
    return `${this.prefix}lease-expiries`;
  }

  /**
   * Hash `<topic>:<partition>` → next offset already applied to Redis by the aggregators of one
   * consumer group, written atomically with the records so a new owner never applies an event twice.
   * TTL refreshed on each write (a week): only read when a partition changes hands.
   */
  aggregatorOffsets(groupId: string): string {
    return `${this.prefix}aggregator:offsets:${groupId}`;
  }

  /**
   * Hash `<topic>:<partition>` → fencing epoch of the aggregator that last took the partition (consumer group
   * `groupId`). Taking a partition raises it (to at least Redis' clock in µs, so it rises even after Redis lost
   * the hash); every guarded write carries the writer's epoch and is refused below the stored one, so a member
   * that lost the partition cannot overwrite the new owner. TTL a week, refreshed on every claim and write; a
   * lost hash is re-established by the next write (it only ever moves up).
   */
  aggregatorEpochs(groupId: string): string {
    return `${this.prefix}aggregator:epochs:${groupId}`;
  }

  /**
   * Sorted set of the eventIds whose effects are in an instance's window (score: when applied), so a client
   * retry, a producer duplicate or a redelivery counts once. Trimmed on every write to the instance's window
   * length (at least 10 min) and to a bounded count; TTL the same length, refreshed on every write.
   */
  aggregatorAppliedEvents(instanceId: string): string {
    return `${this.prefix}aggregator:applied:${instanceId}`;
  }

  /**
   * One aggregator process's sentinel: its disappearance means Redis was flushed or restarted empty,
   * and the aggregator rewrites every record it holds. TTL (an hour) refreshed every check, so a
   * stopped process leaves nothing behind for long.
   */
  aggregatorSentinel(token: string): string {
    return `${this.prefix}aggregator:sentinel:${token}`;
  }

  /**
   * JSON `AggregatorHeartbeat` (libs/contracts) of the consumer group's aggregators, rewritten about once a
   * second by each process holding partitions; PX 30 s so a group that is gone leaves nothing behind. The api
   * reads it to decide whether the aggregator's breaker verdicts are fresh.
   */
  aggregatorHeartbeat(): string {
    return `${this.prefix}aggregator:heartbeat`;
  }

  /**
   * When the instance last had an outcome reported (epoch ms). Clients that report without a
   * selectionId (AgentX) settle no lease; an expired lease of an instance reported on since it was
   * taken is therefore not a timeout. TTL: twice the lease TTL.
   */
  lastReport(instanceId: string): string {
    return `${this.prefix}last-report:${instanceId}`;
  }

  /**
   * One admin console session (value: JSON `{createdAt, expiresAt}`), keyed by the SHA-256 of the session id so
   * a Redis dump holds no usable cookie. PX = the session's lifetime (CONSOLE_SESSION_TTL_MS): an abandoned
   * session leaves nothing behind, logout deletes it at once. Count: one per login, logins are throttled.
   */
  consoleSession(idHash: string): string {
    return `${this.prefix}console:session:${idHash}`;
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
