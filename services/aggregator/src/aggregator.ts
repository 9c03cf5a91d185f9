import { randomBytes } from 'node:crypto';
import type { Consumer, EachBatchPayload } from 'kafkajs';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { BreakerConfig, Transition } from '@apg/core';
import type { CallResultEvent } from '@apg/contracts';
import {
  ABANDON,
  BreakerTransitionStore,
  type BreakerTransitionRecord,
  admitEvents,
  DEFAULT_RAW_RETENTION_DAYS,
  ensureTopics,
  InstanceDirectory,
  RedisKeys,
  retryInBatch,
  type Db,
  type IoMetrics,
  type Kafka,
  type Logger,
  type Redis,
} from '@apg/platform';
import { ConsumerLag } from './consumer-lag';
import { HealthBook } from './health-book';
import { HealthStore } from './health-store';
import { InstanceConfigStore } from './instance-config-store';
import { adoptStored, applyCall, applyTick, newInstanceHealth, type InstanceHealth } from './instance-health';
import { NotificationListener, type Notification } from './notifications';

export interface AggregatorOptions {
  topic: string;
  partitions: number;
  groupId: string;
  redisPrefix: string;
  maxEventBytes: number;
  /** Env defaults; each instance's `routingParams.breaker` applies over them. */
  breakerDefaults: BreakerConfig;
  /** How often OPEN breakers are checked for the end of their open duration. */
  tickMs: number;
  /**
   * How long an instance's breaker config is cached (expired early by registry announcements).
   * @default 10000
   */
  configTtlMs?: number;
  /**
   * How often Redis is checked for lost data (then every record held is rewritten).
   * @default 500
   */
  redisCheckMs?: number;
  /**
   * Raw retention (ms): events dated before now − this, or more than 5 min ahead, are refused like the
   * ingestor refuses them. @default DEFAULT_RAW_RETENTION_DAYS days
   */
  retentionMs?: number;
}

export interface AggregatorDeps {
  options: AggregatorOptions;
  log: Logger;
  db: Db;
  redis: Redis;
  /** A second connection, for subscriptions only (registry changes, admin actions on breakers). */
  redisSub: Redis;
  kafka: Kafka;
  metrics: Registry;
  io?: IoMetrics;
  now?: () => number;
}

export interface AggregatorService {
  start(): Promise<void>;
  stop(): Promise<void>;
  isRunning(): boolean;
}

const STOP_TIMEOUT_MS = 10_000;

/**
 * Kafka → rolling windows and breaker states → Redis. Each batch: skip what a previous owner of
 * the partition already applied, admit the events (same trust check as the ingestor; the ingestor
 * owns the DLQ), apply them by error class to the instances' windows and breakers (per-instance
 * thresholds), write every touched instance's record, window and the applied offset in one guarded
 * script that also announces them, record transitions, then commit.
 *
 * State is loaded from Redis the first time this process sees an instance (after start, a
 * rebalance or an admin action), so a restart neither forgets failures nor re-closes an open
 * breaker. On every rebalance all active state is dropped, not only that of revoked partitions: a
 * member that missed a generation cannot tell whether another member moved its instances on
 * meanwhile, and reloading costs one Redis round trip per instance.
 */
export function createAggregator(deps: AggregatorDeps): AggregatorService {
  const { options, log, db, redis, kafka } = deps;
  const now = deps.now ?? Date.now;
  const keys = new RedisKeys(options.redisPrefix);
  const store = new HealthStore(redis, keys, options.groupId, deps.io);
  const book = new HealthBook(store, log);
  const transitions = new BreakerTransitionStore(db);
  const directory = new InstanceDirectory(db);
  const configs = new InstanceConfigStore(db, options.breakerDefaults, log, { ttlMs: options.configTtlMs ?? 10_000, now });
  const listener = new NotificationListener(deps.redisSub, keys, log, onNotification);
  const lag = new ConsumerLag();
  /** Per `topic:partition`: next offset whose effects are already in Redis (read once per assignment). */
  const applied = new Map<string, bigint>();
  const sentinel = randomBytes(8).toString('hex');

  const events = new Counter({ name: 'apg_aggregator_events_total', help: 'Events applied or skipped by the aggregator', labelNames: ['outcome'] as const, registers: [deps.metrics] });
  const transitionCount = new Counter({ name: 'apg_aggregator_transitions_total', help: 'Breaker transitions', labelNames: ['to_state'] as const, registers: [deps.metrics] });
  const retries = new Counter({ name: 'apg_aggregator_retries_total', help: 'Batch step retries after infrastructure errors', registers: [deps.metrics] });
  const restores = new Counter({ name: 'apg_aggregator_redis_restores_total', help: 'Rewrites of every held record after Redis lost data', registers: [deps.metrics] });
  new Gauge({ name: 'apg_aggregator_instances', help: 'Instances with state in this aggregator', registers: [deps.metrics], collect() { this.set(book.size); } });
  new Gauge({ name: 'apg_aggregator_consumer_lag', help: 'Messages behind the high watermark, summed over assigned partitions', registers: [deps.metrics], collect() { this.set(lag.total()); } });

  let consumer: Consumer | null = null;
  let timers: NodeJS.Timeout[] = [];
  let running = false;
  let stopping: Promise<void> | null = null;
  let sentinelPlaced = false;
  let restorePending = false;
  let ticking = false;
  let checking = false;
  const abort = new AbortController();
  const onRedisReady = (): void => {
    // A reconnect may be to a restarted Redis that came back from an older snapshot.
    if (sentinelPlaced) restorePending = true;
  };

  function onNotification(n: Notification): void {
    if (n.kind === 'forced') {
      log.info({ instanceId: n.instanceId }, 'admin action on a breaker: state dropped, reloaded on next event');
      book.forget(n.instanceId);
      void book.rememberStored(n.instanceId);
    } else {
      configs.invalidate(n.kind === 'instances' ? n.projectId : undefined);
    }
  }

  /** The batch's instances, loaded from Redis on first sight, with their current configs. */
  async function ensureLoaded(list: CallResultEvent[]): Promise<Map<string, InstanceHealth>> {
    const projectOf = new Map(list.map((e) => [e.instanceId, e.projectId]));
    const ids = [...projectOf.keys()];
    const cfg = await configs.configsOf(ids);
    const out = new Map<string, InstanceHealth>();
    const missing: string[] = [];
    for (const id of ids) {
      const h = book.active.get(id);
      if (h) out.set(id, h);
      else missing.push(id);
    }
    const loaded = await store.load(missing);
    const t = now();
    for (const id of missing) {
      const h = newInstanceHealth(id, projectOf.get(id)!, cfg.get(id) ?? options.breakerDefaults, t);
      const saved = loaded.get(id);
      if (saved?.window) h.window = saved.window;
      if (saved?.stored) adoptStored(h, saved.stored, t);
      book.activate(h);
      out.set(id, h);
    }
    for (const [id, h] of out) h.config = cfg.get(id) ?? h.config;
    return out;
  }

  function toAudit(h: InstanceHealth, t: Transition): BreakerTransitionRecord {
    return { ...t, instanceId: h.instanceId, projectId: h.projectId, actor: 'aggregator' };
  }

  function logTransitions(list: BreakerTransitionRecord[]): void {
    for (const t of list) {
      transitionCount.inc({ to_state: t.to });
      log.info({ instanceId: t.instanceId, from: t.from, to: t.to, reason: t.reason }, 'breaker transition');
    }
  }

  async function appliedOffset(field: string): Promise<bigint> {
    const known = applied.get(field);
    if (known !== undefined) return known;
    const stored = (await store.appliedOffset(field)) ?? 0n;
    applied.set(field, stored);
    return stored;
  }

  async function handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (batch.messages.length === 0) return;
    const ctx = { payload, signal: abort.signal, log, onRetry: () => retries.inc() };
    const field = `${batch.topic}:${batch.partition}`;
    let from = await retryInBatch('applied_offset', () => appliedOffset(field), ctx);
    if (from === ABANDON) return;
    if (from > BigInt(batch.highWatermark)) {
      // Beyond the end of the log: the topic was deleted and created again. Skipping would drop
      // every new event up to the old offset; the old entry means nothing for the new log.
      log.warn({ field, applied: from.toString(), highWatermark: batch.highWatermark }, 'applied offset beyond the log end; ignored');
      from = 0n;
      applied.set(field, 0n);
    }
    // Events a previous owner (or this process before a crash) already wrote to Redis count once.
    const fresh = batch.messages.filter((m) => BigInt(m.offset) >= from);
    const intake = await retryInBatch('admit', () => admitEvents(fresh, batch.partition, directory, {
      maxBytes: options.maxEventBytes, now: now(), retentionMs: options.retentionMs ?? DEFAULT_RAW_RETENTION_DAYS * 86_400_000,
    }), ctx);
    if (intake === ABANDON) return;
    const list = intake.admitted.map((a) => a.event);
    const healths = await retryInBatch('load', () => ensureLoaded(list), ctx);
    if (healths === ABANDON) return;

    const t = now();
    const touched = new Set<InstanceHealth>();
    const audited: BreakerTransitionRecord[] = [];
    for (const e of list) {
      const h = healths.get(e.instanceId)!;
      const change = applyCall(h, e, t);
      touched.add(h);
      if (change.transition) audited.push(toAudit(h, change.transition));
    }
    const last = batch.messages[batch.messages.length - 1]!;
    const next = (BigInt(last.offset) + 1n).toString();
    const refused = await retryInBatch('save', () => book.persist([...touched], t, { field, next }), ctx);
    if (refused === ABANDON) return;
    applied.set(field, BigInt(next));
    const real = audited.filter((a) => !refused.has(a.instanceId));
    logTransitions(real);
    if ((await retryInBatch('audit', () => transitions.insertMany(real), ctx)) === ABANDON) return;
    await consumer!.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }]);
    payload.resolveOffset(last.offset);
    lag.observe(batch.topic, batch.partition, batch.highWatermark, next);
    events.inc({ outcome: 'applied' }, list.length);
    events.inc({ outcome: 'skipped' }, intake.rejected.length);
    events.inc({ outcome: 'already_applied' }, batch.messages.length - fresh.length);
  }

  /** Moves OPEN breakers whose open duration has passed to HALF_OPEN, and announces it. */
  async function tick(): Promise<void> {
    if (ticking) return;
    ticking = true;
    const t = now();
    const changed: InstanceHealth[] = [];
    const audited: BreakerTransitionRecord[] = [];
    try {
      for (const h of book.active.values()) {
        if (h.breaker.state !== 'OPEN' || h.breaker.openUntil === null || h.breaker.openUntil > t) continue;
        const change = applyTick(h, t);
        changed.push(h);
        if (change.transition) audited.push(toAudit(h, change.transition));
      }
      if (changed.length === 0) return;
      const refused = await book.persist(changed, t, null);
      const real = audited.filter((a) => !refused.has(a.instanceId));
      logTransitions(real);
      await transitions.insertMany(real);
    } catch (err) {
      // The in-memory state moved on; dropping it makes the next batch reload it, and the next tick
      // make the same move again.
      log.warn({ err: (err as Error).message }, 'tick not persisted; will be retried');
      for (const h of changed) book.forget(h.instanceId);
    } finally {
      ticking = false;
    }
  }

  /** Detects a flushed or restarted Redis (sentinel gone, or the hash gone while we hold records) and rewrites. */
  async function checkRedis(): Promise<void> {
    if (checking) return;
    checking = true;
    try {
      const s = await store.checkIntact(sentinel);
      if (s.sentinelMissing && sentinelPlaced) restorePending = true;
      if (s.hashMissing && book.knowsAnything) restorePending = true;
      sentinelPlaced = true;
      if (!restorePending) return;
      const n = await book.restoreAll(now());
      restorePending = false;
      restores.inc();
      log.warn(n, 'redis lost data: health records and windows rewritten');
    } catch (err) {
      log.debug({ err: (err as Error).message }, 'redis check failed; retrying');
    } finally {
      checking = false;
    }
  }

  async function shutdown(): Promise<void> {
    abort.abort();
    running = false;
    for (const t of timers) clearInterval(t);
    timers = [];
    redis.off('ready', onRedisReady);
    const c = consumer;
    consumer = null;
    await c?.disconnect().catch(() => undefined);
    await listener.stop();
    await store.removeSentinel(sentinel).catch(() => undefined);
  }

  return {
    isRunning: () => running,
    async start() {
      await ensureTopics(kafka, [{ topic: options.topic, numPartitions: options.partitions }]);
      await listener.start();
      await book.rememberAll();
      await checkRedis();
      redis.on('ready', onRedisReady);
      consumer = kafka.consumer({ groupId: options.groupId, sessionTimeout: 30_000, heartbeatInterval: 3000, maxWaitTimeInMs: 100 });
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        book.deactivateAll(now());
        applied.clear();
        lag.retain(e.payload.memberAssignment);
      });
      await consumer.connect();
      await consumer.subscribe({ topic: options.topic, fromBeginning: true });
      await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: 2, eachBatch: handleBatch });
      timers = [setInterval(() => void tick(), options.tickMs), setInterval(() => void checkRedis(), options.redisCheckMs ?? 500)];
      running = true;
      log.info({ topic: options.topic, groupId: options.groupId }, 'aggregator consuming');
    },
    async stop() {
      stopping ??= Promise.race([
        shutdown(),
        new Promise<void>((resolve) => setTimeout(() => {
          log.warn('aggregator stop timed out');
          resolve();
        }, STOP_TIMEOUT_MS).unref()),
      ]);
      return stopping;
    },
  };
}
