import { hostname } from 'node:os';
import type { EachBatchPayload } from 'kafkajs';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { BreakerConfig } from '@apg/core';
import {
  BatchRetrier,
  BreakerTransitionStore,
  ConsumerGroupLag,
  consumerWatchdogMs,
  DEFAULT_RAW_RETENTION_DAYS,
  ensureTopics,
  type TopicReplication,
  InstanceDirectory,
  ProbeSlots,
  RedisKeys,
  signingPolicyOf,
  type Db,
  type EventSigningOptions,
  type IoMetrics,
  type Kafka,
  type Logger,
  type Redis,
} from '@apg/platform';
import { BatchHandler, type Step } from './batch-handler';
import { ConsumerLifecycle } from './consumer-lifecycle';
import { HealthBook } from './health-book';
import { HealthStore } from './health-store';
import { HeartbeatWriter, readinessOf } from './heartbeat';
import { InstanceConfigStore } from './instance-config-store';
import { NotificationListener, type Notification } from './notifications';
import { PartitionClaims } from './partition-claims';
import { RedisWatch } from './redis-watch';
import { Ticker } from './ticker';

export interface AggregatorOptions {
  topic: string;
  partitions: number;
  /** Replication of the topic when this service creates it. @default factor 1 */
  replication?: TopicReplication;
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
  /**
   * Consumer-group session: what a member that died without leaving costs.
   * @default 6000
   */
  sessionTimeoutMs?: number;
  /** @default 1000 */
  groupHeartbeatMs?: number;
  /** @default 10000 */
  rebalanceTimeoutMs?: number;
  /**
   * A batch held longer than this makes the aggregator unready (and stops its heartbeat earlier).
   * @default 10000
   */
  maxHeldMs?: number;
  /**
   * A batch step silent this long (no attempt started or ended: a call that never returns) makes the
   * process exit through `onFatal`, to be restarted with fresh connections.
   * @default 60000
   */
  maxHungMs?: number;
  /**
   * Consumers kafkajs gave up on ("The coordinator is not aware of this member" after a stall past the
   * session) replaced in-process in a row; one more and the process exits through `onFatal`. @default 5
   */
  maxConsumerRestarts?: number;
  /**
   * How often the group heartbeat (`RedisKeys.aggregatorHeartbeat()`) is written.
   * @default 1000
   */
  heartbeatMs?: number;
  /**
   * Events waiting longer than this to be applied (a batch in progress, or the group's committed offset
   * stuck behind the log end) make the aggregator unready and stop its heartbeat. @default 30000
   */
  maxEventAgeMs?: number;
  /** How often the group's committed offsets and the log ends are polled. @default 5000 */
  lagPollMs?: number;
  /** Signed events: the api's credential (`EVENT_SIGNING_SECRET`), `REQUIRE_SIGNED_EVENTS`, the key cache. */
  signing: EventSigningOptions;
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
  /**
   * A bug, or a consumer that ended for good: the process must exit non-zero and be restarted (it resumes
   * from the committed offsets). Tests observe it instead.
   */
  onFatal(err: unknown, where: string): void;
}

export interface AggregatorService {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** For `/readyz`: partitions held, no batch held too long. */
  readiness(): Record<string, boolean>;
}

const STOP_TIMEOUT_MS = 10_000;

/**
 * Kafka → rolling windows and breaker states → Redis, wired from small parts: the consumer's lifecycle
 * in its group, the batch handler, the ticker (OPEN → HALF_OPEN), the Redis watch (rewrites after a
 * data loss), the heartbeat, and the partition claims that fence every write.
 *
 * State is loaded from Redis the first time this process sees an instance (after start, a rebalance or
 * an admin action), so a restart neither forgets failures nor re-closes an open breaker. On every
 * rebalance all active state is dropped, not only that of revoked partitions: a member that missed a
 * generation cannot tell whether another member moved its instances on meanwhile, and reloading costs
 * one Redis round trip per instance.
 */
export function createAggregator(deps: AggregatorDeps): AggregatorService {
  const { options, log, db, redis, kafka } = deps;
  const now = deps.now ?? Date.now;
  const keys = new RedisKeys(options.redisPrefix);
  const store = new HealthStore(redis, keys, options.groupId, deps.io);
  const book = new HealthBook(store, log);
  const claims = new PartitionClaims(store);
  const transitions = new BreakerTransitionStore(db);
  const configs = new InstanceConfigStore(db, options.breakerDefaults, log, { ttlMs: options.configTtlMs ?? 10_000, now });
  const abort = new AbortController();
  const maxHeldMs = options.maxHeldMs ?? 10_000;
  const maxEventAgeMs = options.maxEventAgeMs ?? 30_000;
  const groupLag = new ConsumerGroupLag(kafka, { groupId: options.groupId, topic: options.topic, intervalMs: options.lagPollMs ?? 5000 }, log, deps.io, now);
  const member = `${hostname()}:${process.pid}`;

  const m = deps.metrics;
  const events = new Counter({ name: 'apg_aggregator_events_total', help: 'Events by outcome: applied, skipped (not admitted), already_applied (by offset), duplicate (by eventId), apply_error, data_error', labelNames: ['outcome'] as const, registers: [m] });
  const transitionCount = new Counter({ name: 'apg_aggregator_transitions_total', help: 'Breaker transitions', labelNames: ['to_state'] as const, registers: [m] });
  const fenced = new Counter({ name: 'apg_aggregator_fenced_writes_total', help: 'Writes refused because another member took the partition since', registers: [m] });
  const consumerRestarts = new Counter({ name: 'apg_aggregator_consumer_restarts_total', help: 'Consumers replaced after kafkajs gave up on them (a crash it does not restart by itself)', registers: [m] });
  const rejected = new Counter({ name: 'apg_aggregator_rejected_events_total', help: 'Events not counted, by reason (the DLQ reasons: unsigned, bad_signature, unknown_key, foreign_instance, …); the ingestor dead-letters the same events', labelNames: ['reason'] as const, registers: [m] });
  const unsignedAccepted = new Counter({ name: 'apg_aggregator_unsigned_events_accepted_total', help: 'Unsigned events counted because REQUIRE_SIGNED_EVENTS is false (migration mode); 0 once every publisher signs', registers: [m] });
  const signing = signingPolicyOf(db, options.signing, now);
  const restores = new Counter({ name: 'apg_aggregator_redis_restores_total', help: 'Rewrites of every held record after Redis lost data', registers: [m] });

  // Infrastructure errors are retried (apg_aggregator_batch_retries_total{stage}), data errors rethrown
  // for the batch handler to isolate, bugs handed to onFatal; a step is given up once the batch is no
  // longer ours, heart-beating the group between attempts.
  const retrier = new BatchRetrier({ service: 'aggregator', metrics: m, log, onBug: (err, stage) => deps.onFatal(err, stage), maxHeldMs, now });
  const stepFor = (payload: EachBatchPayload): Step => (stage, fn) =>
    retrier.run(stage, fn, { signal: abort.signal, active: () => payload.isRunning() && !payload.isStale(), heartbeat: () => payload.heartbeat() });

  const consumer: ConsumerLifecycle = new ConsumerLifecycle(
    kafka,
    {
      topic: options.topic,
      groupId: options.groupId,
      sessionTimeoutMs: options.sessionTimeoutMs ?? 6000,
      heartbeatIntervalMs: options.groupHeartbeatMs ?? 1000,
      rebalanceTimeoutMs: options.rebalanceTimeoutMs ?? 10_000,
      maxRestarts: options.maxConsumerRestarts ?? 5,
    },
    {
      eachBatch: (payload) => batches.handle(payload),
      onAssigned() {
        book.deactivateAll(now());
        claims.reset();
      },
      onFatal: (err) => deps.onFatal(err, 'aggregator consumer'),
      onRestart: () => consumerRestarts.inc(),
    },
    log,
  );
  const batches = new BatchHandler({
    claims, store, book, configs, log, stepFor,
    directory: new InstanceDirectory(db),
    signing,
    transitions,
    probes: new ProbeSlots(redis, keys),
    commit: (offsets) => consumer.commitOffsets(offsets),
    onBug: (err, where) => deps.onFatal(err, where),
    metrics: { events, transitions: transitionCount, fenced, rejected, unsignedAccepted },
    breakerDefaults: options.breakerDefaults,
    maxEventBytes: options.maxEventBytes,
    retentionMs: options.retentionMs ?? DEFAULT_RAW_RETENTION_DAYS * 86_400_000,
    now,
  });
  const ticker = new Ticker({ book, claims, transitions, log, transitionCount, now });
  const watch = new RedisWatch({ redis, store, book, claims, log, restores, now });
  // The oldest unapplied event: in a batch held here (our clock), or behind the group's stuck commit (polled).
  const oldestEventMs = () => Math.max(batches.oldestInFlightMs(), groupLag.book.oldestWaitMs());
  const readinessInput = () => ({ partitions: consumer.partitions(), oldestBatchMs: batches.oldestInFlightMs(), maxHeldMs, oldestEventMs: oldestEventMs(), maxEventAgeMs });
  const heartbeat = new HeartbeatWriter(store, () => ({ ...readinessInput(), now: now(), member: consumer.member() || member }), log);
  const listener = new NotificationListener(deps.redisSub, keys, log, (n: Notification) => {
    if (n.kind === 'forced') {
      log.info({ instanceId: n.instanceId }, 'admin action on a breaker: state dropped, reloaded on next event');
      book.forget(n.instanceId);
      void book.rememberStored(n.instanceId);
    } else {
      configs.invalidate(n.kind === 'instances' ? n.projectId : undefined);
      // A key revoked, expired or re-linked: its events stop counting from the next batch, not after the TTL.
      if (n.kind === 'auth') signing.keys.forgetAll();
    }
  });

  new Gauge({ name: 'apg_aggregator_instances', help: 'Instances with state in this aggregator', registers: [m], collect() { this.set(book.size); } });
  new Gauge({
    name: 'apg_aggregator_consumer_lag',
    help: 'Messages of the partition the group has not committed (high watermark - committed offset), polled from the broker; every member reports the whole group, so aggregate with max by (partition)',
    labelNames: ['partition'] as const,
    registers: [m],
    collect() {
      this.reset();
      for (const [partition, n] of groupLag.book.lagByPartition()) this.set({ partition: String(partition) }, n);
    },
  });
  new Gauge({ name: 'apg_aggregator_assigned_partitions', help: 'Partitions this member holds in the current generation', registers: [m], collect() { this.set(consumer.partitions()); } });
  new Gauge({ name: 'apg_aggregator_batch_in_flight_seconds', help: 'Age of the oldest batch in progress (retrying or waiting on a dependency), 0 when none', registers: [m], collect() { this.set(batches.oldestInFlightMs() / 1000); } });
  new Gauge({ name: 'apg_aggregator_oldest_unapplied_event_age_seconds', help: 'How long the oldest event not yet applied has waited (lower bound): held in a batch in progress, or behind the group commit since first polled', registers: [m], collect() { this.set(oldestEventMs() / 1000); } });

  const maxHungMs = options.maxHungMs ?? 60_000;
  const watchdog = (): void => {
    const stuck = batches.longestStuckMs();
    if (stuck > maxHungMs) deps.onFatal(new Error(`a batch step has not returned for ${stuck} ms`), 'aggregator watchdog');
    // A consumer out of its group this long (kafkajs restarting it over and over, a rejoin that never
    // completes) consumes nothing while the process looks alive: exit, restart, resume from the commits.
    const out = consumer.outOfGroupMs(Date.now()); // wall clock: `now` may be a test's
    if (out > consumerWatchdogMs(options.sessionTimeoutMs ?? 6000)) deps.onFatal(new Error(`kafka consumer out of its group for ${out} ms`), 'aggregator consumer watchdog');
  };
  const timers: NodeJS.Timeout[] = [];

  let stopping: Promise<void> | null = null;
  async function shutdown(): Promise<void> {
    for (const t of timers.splice(0)) clearInterval(t);
    abort.abort();
    heartbeat.stop();
    ticker.stop();
    // Leaving the group hands the partitions over at once (no session timeout to wait for).
    await consumer.stop();
    await watch.stop();
    await listener.stop();
    await groupLag.stop();
  }

  return {
    readiness: () => readinessOf(readinessInput()),
    async start() {
      await ensureTopics(kafka, [{ topic: options.topic, numPartitions: options.partitions }], options.replication);
      await listener.start();
      await book.rememberAll();
      await watch.start(options.redisCheckMs ?? 500);
      await consumer.start();
      await groupLag.start();
      ticker.start(options.tickMs);
      heartbeat.start(options.heartbeatMs ?? 1000);
      timers.push(setInterval(watchdog, 1000));
      log.info({ topic: options.topic, groupId: options.groupId, requireSignedEvents: signing.requireSigned }, 'aggregator consuming');
      if (!signing.requireSigned) log.warn('REQUIRE_SIGNED_EVENTS=false: unsigned events are counted (migration mode); wrongly signed ones are still skipped');
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
