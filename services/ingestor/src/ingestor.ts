import type { Consumer, EachBatchPayload, Producer } from 'kafkajs';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import {
  ABANDON,
  admitEvents,
  BatchRetrier,
  ConsumerGroupLag,
  consumerWatchdogMs,
  ensureTopics,
  type TopicReplication,
  InstanceDirectory,
  Partitioners,
  retryInBatch,
  sendToDeadLetter,
  signingPolicyOf,
  type Db,
  type DeadLetter,
  type EventSigningOptions,
  type IoMetrics,
  type Kafka,
  type Logger,
} from '@apg/platform';
import { BatchWriter, type BatchWriterOptions, type WriteItem } from './batch-writer';
import { CallResultStore } from './call-result-store';
import { guardEvent } from './event-guard';
import { OffsetTracker } from './offset-tracker';
import { PartitionStore } from './partition-store';
import { RetentionMaintainer, type RetentionOptions } from './retention-maintainer';
import { DAY_MS } from './retention-plan';
import { logDeadLetteredRequests } from './dead-letter-log';

/** How hard the ingestor pulls; the defaults reach ≥ 20,000 events/s on a 2-core machine (bench/ingest.ts). */
export interface ThroughputOptions extends BatchWriterOptions {
  /** Rows queued or in flight above which consumption waits (bounds memory). @default 40000 */
  maxPendingRows: number;
  /** Partition batches handled at once (kafkajs `partitionsConsumedConcurrently`). @default 6 */
  partitionsConcurrency: number;
  /** Bytes fetched per partition per request. @default 2 MiB */
  fetchMaxBytesPerPartition: number;
  /** Bytes fetched per request. @default 16 MiB */
  fetchMaxBytes: number;
  /** Bytes the broker waits for before answering a fetch (up to `fetchMaxWaitMs`). @default 1 */
  fetchMinBytes: number;
  /** Longest wait of the broker for `fetchMinBytes`. @default 500 */
  fetchMaxWaitMs: number;
}

export const DEFAULT_THROUGHPUT: ThroughputOptions = {
  maxRowsPerWrite: 10_000,
  concurrency: 2,
  maxPendingRows: 40_000,
  partitionsConcurrency: 6,
  fetchMaxBytesPerPartition: 2 * 1024 * 1024,
  fetchMaxBytes: 16 * 1024 * 1024,
  fetchMinBytes: 1,
  fetchMaxWaitMs: 500,
};

export const DEFAULT_RETENTION: RetentionOptions = {
  retentionDays: 7,
  premakeDays: 3,
  rollupRetentionDays: 90,
  intervalMs: 3_600_000,
};

export interface IngestorOptions {
  topic: string;
  dlqTopic: string;
  partitions: number;
  /** Replication of the topics this service creates when missing. @default factor 1 */
  replication?: TopicReplication;
  groupId: string;
  maxEventBytes: number;
  slowCallMs: number;
  throughput?: Partial<ThroughputOptions>;
  retention?: Partial<RetentionOptions>;
  /** How long `stop()` lets queued writes finish before leaving them uncommitted. @default 10000 */
  stopTimeoutMs?: number;
  /**
   * Kafka group session timeout: how long a crashed ingestor holds its partitions before the group
   * hands them to another one (or to itself, restarted). @default 30000
   */
  sessionTimeoutMs?: number;
  /**
   * A batch held longer than this by infrastructure retries (database, Kafka or registry down) makes
   * `isReady()` false, so `/readyz` answers 503 while the consumer waits. @default 60000
   */
  maxBatchHoldMs?: number;
  /**
   * Events waiting longer than this to be written (a batch consumed and not yet written, or the group's
   * committed offset stuck behind the log end) make `eventsFlowing()` false (`/readyz` 503). @default 60000
   */
  maxEventAgeMs?: number;
  /** How often the group's committed offsets and the log ends are polled for the lag gauges. @default 5000 */
  lagPollMs?: number;
  /** Signed events: the api's credential (`EVENT_SIGNING_SECRET`), `REQUIRE_SIGNED_EVENTS`, the key cache. */
  signing: EventSigningOptions;
}

export interface IngestorDeps {
  options: IngestorOptions;
  log: Logger;
  db: Db;
  kafka: Kafka;
  metrics: Registry;
  /** Named-I/O metrics (the lag poller's admin calls). */
  io?: IoMetrics;
  /** Clock of the retention horizon and of the callTimestamp window. @default Date.now */
  now?: () => number;
  /**
   * Called on an error classified as a bug (platform error-class.ts), with nothing committed past the
   * last write. The composition root exits the process (`runMain`'s `fatal`), so that it restarts and
   * resumes from the committed offsets. @default logs it and stops consuming (isRunning() turns false)
   */
  onBug?: (err: unknown, where: string) => void;
}

export interface IngestorService {
  start(): Promise<void>;
  stop(): Promise<void>;
  isRunning(): boolean;
  /** Consuming, and no batch held by infrastructure retries longer than `maxBatchHoldMs` (`/readyz`). */
  isReady(): boolean;
  /**
   * The Kafka consumer is a member of its group (joined, and not crashed or stopped since). A consumer out
   * of its group longer than `consumerWatchdogMs(sessionTimeoutMs)` is a bug: `onBug`, the process exits.
   */
  isConsuming(): boolean;
  /**
   * How long the oldest unwritten event has waited (ms), a lower bound: since its batch was consumed, or
   * since the poll that first saw it behind a stuck group commit (the broker's view), whichever is longer.
   */
  oldestUnappliedEventAgeMs(): number;
  /** No event has waited longer than `maxEventAgeMs` (`/readyz`). */
  eventsFlowing(): boolean;
  /** Runs one retention pass now (tests, tooling); it also runs at start and every interval. */
  maintainRetention(): Promise<void>;
}

/**
 * Kafka → Postgres. Per Kafka batch: decide each message's outcome (row or DLQ), dead-letter the bad
 * ones, and queue the good ones for the BatchWriter, which merges queued batches into large writes
 * (one statement each, rollups included) and commits each partition's offsets only after the database
 * commit, in order. Consumption runs ahead of the writes up to `maxPendingRows`, then waits.
 *
 * Every error is classified (platform error-class.ts) and handled by one BatchRetrier: a database,
 * registry or Kafka outage holds the batch, retrying with backoff for as long as it lasts (never
 * dead-lettered; `apg_ingestor_batch_retries_total{stage}`, `apg_ingestor_batch_held_seconds`, `/readyz`
 * 503 past `maxBatchHoldMs`); consumption stops when the queue is full and resumes by itself. A data
 * error dead-letters the offending events only; a bug goes to `onBug` (the process exits). `stop()` stops
 * fetching, lets queued writes finish for up to `stopTimeoutMs`, and abandons the rest uncommitted:
 * each write is one statement, so nothing is ever half-written, and redelivery is absorbed by the
 * idempotent insert.
 */
export function createIngestor(deps: IngestorDeps): IngestorService {
  const { options, log, db, kafka, metrics } = deps;
  const throughput: ThroughputOptions = { ...DEFAULT_THROUGHPUT, ...options.throughput };
  const retention: RetentionOptions = { ...DEFAULT_RETENTION, ...options.retention };
  const directory = new InstanceDirectory(db);
  const now = deps.now ?? Date.now;
  const signing = signingPolicyOf(db, options.signing, now);
  const tracker = new OffsetTracker();
  let failed = false;
  const onBug = deps.onBug ?? ((err: unknown, where: string) => {
    log.fatal({ err: err instanceof Error ? err.stack : String(err), where }, 'bug on the ingestion path; consuming stopped');
    failed = true;
    void service.stop();
  });
  const retrier = new BatchRetrier({ service: 'ingestor', metrics, log, onBug, maxHeldMs: options.maxBatchHoldMs ?? 60_000 });

  const outcomes = new Counter({
    name: 'apg_ingestor_messages_total',
    help: 'Messages handled by the ingestor, by outcome (written, duplicate, dlq)',
    labelNames: ['outcome'] as const,
    registers: [metrics],
  });
  const writeRows = new Histogram({
    name: 'apg_ingestor_write_rows',
    help: 'Rows per database write (several Kafka batches are merged into one write)',
    buckets: [1, 10, 100, 500, 1000, 2500, 5000, 10_000, 25_000, 50_000],
    registers: [metrics],
  });
  const groupLag = new ConsumerGroupLag(kafka, { groupId: options.groupId, topic: options.topic, intervalMs: options.lagPollMs ?? 5000 }, log, deps.io, now);
  const maxEventAgeMs = options.maxEventAgeMs ?? 60_000;
  const oldestUnappliedEventAgeMs = () => {
    const pendingSince = tracker.oldestPendingAt();
    const inProcess = pendingSince === null ? 0 : Math.max(0, now() - pendingSince);
    return Math.max(inProcess, groupLag.book.oldestWaitMs());
  };
  new Gauge({
    name: 'apg_ingestor_consumer_lag_messages',
    help: 'Messages of the partition the group has not committed (high watermark - committed offset), polled from the broker; every member reports the whole group, so aggregate with max by (partition)',
    labelNames: ['partition'] as const,
    registers: [metrics],
    collect() {
      this.reset();
      for (const [partition, n] of groupLag.book.lagByPartition()) this.set({ partition: String(partition) }, n);
    },
  });
  new Gauge({
    name: 'apg_ingestor_oldest_unapplied_event_age_seconds',
    help: 'How long the oldest event not yet written has waited (lower bound): held in this process since consumed, or behind the group commit since first polled',
    registers: [metrics],
    collect() {
      this.set(oldestUnappliedEventAgeMs() / 1000);
    },
  });
  const defaultRows = new Gauge({ name: 'apg_ingestor_default_partition_rows', help: 'Raw rows waiting in the DEFAULT partition (callTimestamp beyond the partitions made ahead)', registers: [metrics] });

  let consumer: Consumer | null = null;
  let producer: Producer | null = null;
  let running = false;
  // Group membership as kafkajs reports it: since when this consumer has been out of its group (null: in it).
  let outOfGroupSince: number | null = null;
  let watchdog: NodeJS.Timeout | null = null;
  const sessionTimeout = options.sessionTimeoutMs ?? 30_000;
  const heartbeatInterval = Math.min(3000, Math.floor(sessionTimeout / 3));
  let stopping: Promise<void> | null = null;
  const abort = new AbortController();

  const deadLetters = new Counter({
    name: 'apg_ingestor_dead_letters_total',
    help: 'Messages dead-lettered by the ingestor, by reason (apg-dlq-reason)',
    labelNames: ['reason'] as const,
    registers: [metrics],
  });
  const unsignedAccepted = new Counter({
    name: 'apg_ingestor_unsigned_events_accepted_total',
    help: 'Unsigned events admitted because REQUIRE_SIGNED_EVENTS is false (migration mode); 0 once every publisher signs',
    registers: [metrics],
  });
  let unsignedLogged = false;
  const deadLetter = async (letters: DeadLetter[]) => {
    await sendToDeadLetter(producer!, options.dlqTopic, options.topic, letters, now);
    for (const l of letters) deadLetters.inc({ reason: l.reason });
  };

  const writer = new BatchWriter({
    options: throughput,
    store: new CallResultStore(db, options.slowCallMs),
    tracker,
    log,
    deadLetter,
    async commit(offsets, epoch) {
      // A rebalance since the write: the partitions are re-read from the last commit anyway.
      if (epoch !== tracker.epoch || !consumer) return;
      await consumer.commitOffsets(offsets.map((o) => ({ topic: options.topic, partition: o.partition, offset: o.offset })));
    },
    onWritten({ written, duplicate, dlq, rows }) {
      outcomes.inc({ outcome: 'written' }, written);
      outcomes.inc({ outcome: 'duplicate' }, duplicate);
      if (dlq) outcomes.inc({ outcome: 'dlq' }, dlq);
      if (rows) writeRows.observe(rows);
    },
    retrier,
    onBug,
  });
  new Gauge({ name: 'apg_ingestor_pending_rows', help: 'Rows consumed and not yet written', registers: [metrics], collect() { this.set(writer.pendingRows()); } });

  const maintainer = new RetentionMaintainer(new PartitionStore(db), retention, log, now, (run) => defaultRows.set(run.defaultRows));

  async function handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (stopping || batch.messages.length === 0) return;
    const consumedAt = now();
    // Heart-beating while a step runs: a hung statement (until DATABASE_QUERY_TIMEOUT_MS) keeps the membership.
    const ctx = { payload, signal: abort.signal, log, retrier, heartbeatEveryMs: heartbeatInterval };
    const limits = { maxBytes: options.maxEventBytes, now: now(), retentionMs: retention.retentionDays * DAY_MS };
    const intake = await retryInBatch('admit', () => admitEvents(batch.messages, batch.partition, directory, signing, limits), ctx);
    if (intake === ABANDON) return;
    if (intake.unsignedAdmitted) {
      unsignedAccepted.inc(intake.unsignedAdmitted);
      if (!unsignedLogged) log.warn({ partition: batch.partition }, 'unsigned events counted (REQUIRE_SIGNED_EVENTS=false); logged once, counted in apg_ingestor_unsigned_events_accepted_total');
      unsignedLogged = true;
    }
    const horizon = maintainer.horizon();
    const items: WriteItem[] = [];
    const rejected = intake.rejected;
    for (const a of intake.admitted) {
      const verdict = guardEvent(a.event, horizon);
      if (verdict.ok) items.push({ event: verdict.event, message: a.message, partition: batch.partition });
      else rejected.push({ message: a.message, partition: batch.partition, reason: verdict.reason, detail: verdict.detail });
    }
    if (rejected.length) {
      const sent = await retryInBatch('dead-letter', () => deadLetter(rejected), ctx);
      if (sent === ABANDON) return;
      outcomes.inc({ outcome: 'dlq' }, rejected.length);
      log.warn({ count: rejected.length, reasons: [...new Set(rejected.map((r) => r.reason))] }, 'messages dead-lettered');
      logDeadLetteredRequests(log, rejected);
    }
    const last = batch.messages[batch.messages.length - 1]!;
    writer.enqueue({ items, batch: tracker.register(batch.partition, last.offset, consumedAt) });
    // The fetch position moves on now; the commit follows the write.
    payload.resolveOffset(last.offset);
    // Backpressure: hold this batch (and so the next fetch) while too much is pending, heart-beating
    // so that a long database outage does not cost the group membership.
    while (!stopping && payload.isRunning() && writer.pendingRows() > throughput.maxPendingRows) {
      await writer.waitForRoom(throughput.maxPendingRows, 1000);
      await payload.heartbeat();
    }
  }

  async function shutdown(): Promise<void> {
    running = false;
    if (watchdog) clearInterval(watchdog);
    watchdog = null;
    const c = consumer;
    const p = producer;
    try {
      c?.pause([{ topic: options.topic }]);
    } catch {
      // not subscribed yet
    }
    // Commits need the consumer running, so the queue is drained before it disconnects.
    if (!(await writer.drain(options.stopTimeoutMs ?? 10_000))) log.warn({ pendingRows: writer.pendingRows() }, 'stopping with writes unfinished: left uncommitted, they will be redelivered');
    writer.abort();
    abort.abort();
    await groupLag.stop();
    await maintainer.stop();
    consumer = null;
    producer = null;
    await c?.disconnect().catch(() => undefined);
    await p?.disconnect().catch(() => undefined);
  }

  const service: IngestorService = {
    isRunning: () => running && !failed,
    isReady: () => running && !failed && retrier.ready(),
    isConsuming: () => running && !failed && outOfGroupSince === null,
    oldestUnappliedEventAgeMs,
    eventsFlowing: () => oldestUnappliedEventAgeMs() <= maxEventAgeMs,
    async maintainRetention() {
      await maintainer.runOnce();
    },
    async start() {
      await ensureTopics(kafka, [
        { topic: options.topic, numPartitions: options.partitions },
        { topic: options.dlqTopic, numPartitions: 1 },
      ], options.replication);
      // Partitions before the first write; if the database is down this fails softly (rows wait in DEFAULT).
      await maintainer.runOnce();
      maintainer.start();
      producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
      await producer.connect();
      consumer = kafka.consumer({
        groupId: options.groupId,
        sessionTimeout,
        heartbeatInterval,
        maxWaitTimeInMs: throughput.fetchMaxWaitMs,
        minBytes: throughput.fetchMinBytes,
        maxBytes: throughput.fetchMaxBytes,
        maxBytesPerPartition: throughput.fetchMaxBytesPerPartition,
      });
      consumer.on(consumer.events.GROUP_JOIN, () => {
        outOfGroupSince = null;
        tracker.newEpoch();
      });
      const left = (why: string) => {
        if (stopping || outOfGroupSince !== null) return;
        outOfGroupSince = Date.now();
        log.warn({ why }, 'kafka consumer out of its group; /readyz 503 until it rejoins');
      };
      consumer.on(consumer.events.STOP, () => left('stopped'));
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        left('crashed');
        log.error({ err: payload.error.message, restart: payload.restart }, 'kafka consumer crashed');
        // kafkajs restarts it after a retriable error. Otherwise it would idle for ever: an error thrown
        // out of a batch (outside the retrier) or a non-retriable group error is a bug — exit, restart, resume.
        if (!payload.restart && !stopping) onBug(payload.error, 'kafka consumer');
      });
      await consumer.connect();
      await consumer.subscribe({ topic: options.topic, fromBeginning: true });
      // Wall clock, not `now` (a test's clock for the retention horizon).
      outOfGroupSince = Date.now();
      await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: throughput.partitionsConcurrency, eachBatch: handleBatch });
      running = true;
      // A consumer kafkajs keeps restarting without ever getting back into its group consumes nothing while
      // the process looks alive: past the bound it is treated as a bug (exit, restart, resume from commits).
      const maxOutMs = consumerWatchdogMs(sessionTimeout);
      watchdog = setInterval(() => {
        const since = outOfGroupSince;
        if (since !== null && !stopping && Date.now() - since > maxOutMs) onBug(new Error(`kafka consumer out of its group for ${Date.now() - since} ms`), 'ingestor consumer watchdog');
      }, 1000);
      watchdog.unref();
      await groupLag.start();
      log.info({ topic: options.topic, groupId: options.groupId, throughput, retention, requireSignedEvents: signing.requireSigned }, 'ingestor consuming');
      if (!signing.requireSigned) log.warn('REQUIRE_SIGNED_EVENTS=false: unsigned events are counted (migration mode); wrongly signed ones are still dead-lettered');
    },
    stop() {
      if (!consumer && !producer) return Promise.resolve();
      stopping ??= shutdown();
      return stopping;
    },
  };
  return service;
}
