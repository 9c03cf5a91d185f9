// Composition root of the ingestor.
import { answersWithin, createDb, createIoMetrics, createKafka, createLogger, createMetricsRegistry, runMain, startOpsServer, topicReplicationFromEnv } from '@apg/platform';
import { parseIngestorEnv } from './config';
import { createIngestor } from './ingestor';

runMain('ingestor', async ({ fatal }) => {
  const env = parseIngestorEnv(process.env);
  const log = createLogger('ingestor', env.LOG_LEVEL);
  const metrics = createMetricsRegistry('ingestor');
  const io = createIoMetrics(metrics);
  // Statements bounded: a hung connection fails ("Query read timeout", an infrastructure error) and is
  // replaced, instead of holding a batch until the watchdog or the session gives up.
  const db = createDb(env.DATABASE_URL, {
    max: env.DATABASE_POOL_MAX, io, application: 'apg-ingestor', queryTimeoutMs: env.DATABASE_QUERY_TIMEOUT_MS, connectTimeoutMs: env.DATABASE_CONNECT_TIMEOUT_MS,
  });
  const kafka = createKafka({ brokers: env.KAFKA_BROKERS, clientId: `${env.KAFKA_CLIENT_ID}-ingestor`, logger: log });
  const ingestor = createIngestor({
    log, db, kafka, metrics, io,
    // A bug exits the process (70): the supervisor restarts it and it resumes from the committed offsets.
    onBug: fatal,
    options: {
      topic: env.KAFKA_TOPIC_CALL_RESULTS,
      dlqTopic: env.KAFKA_TOPIC_DLQ,
      partitions: env.KAFKA_TOPIC_PARTITIONS,
      replication: topicReplicationFromEnv(env),
      groupId: env.KAFKA_GROUP_INGESTOR,
      maxEventBytes: env.MAX_EVENT_BYTES,
      slowCallMs: env.BREAKER_SLOW_CALL_MS,
      throughput: {
        maxRowsPerWrite: env.INGEST_MAX_ROWS_PER_WRITE,
        concurrency: env.INGEST_WRITE_CONCURRENCY,
        maxPendingRows: env.INGEST_MAX_PENDING_ROWS,
        partitionsConcurrency: env.INGEST_PARTITIONS_CONCURRENCY,
        fetchMaxBytesPerPartition: env.INGEST_FETCH_MAX_BYTES_PER_PARTITION,
        fetchMaxBytes: env.INGEST_FETCH_MAX_BYTES,
        fetchMinBytes: env.INGEST_FETCH_MIN_BYTES,
        fetchMaxWaitMs: env.INGEST_FETCH_MAX_WAIT_MS,
      },
      sessionTimeoutMs: env.INGEST_SESSION_TIMEOUT_MS,
      maxBatchHoldMs: env.INGEST_MAX_BATCH_HOLD_MS,
      maxEventAgeMs: env.INGEST_MAX_EVENT_AGE_MS,
      lagPollMs: env.INGEST_LAG_POLL_MS,
      signing: { serviceSecret: env.EVENT_SIGNING_SECRET, requireSigned: env.REQUIRE_SIGNED_EVENTS, keyCacheTtlMs: env.SIGNING_KEY_CACHE_TTL_MS },
      retention: {
        retentionDays: env.RETENTION_DAYS,
        rollupRetentionDays: env.ROLLUP_RETENTION_DAYS,
        premakeDays: env.PARTITION_PREMAKE_DAYS,
        intervalMs: env.RETENTION_INTERVAL_MS,
      },
    },
  });
  const ops = await startOpsServer({
    port: env.INGESTOR_PORT,
    host: '0.0.0.0',
    registry: metrics,
    readiness: async () => ({
      postgres: await answersWithin(() => db.ping()),
      kafka: ingestor.isRunning(),
      // False while the consumer is out of its group (crashed, stopped, rejoining); past a bound the process exits.
      consumer: ingestor.isConsuming(),
      // False while a batch has been held by infrastructure retries longer than INGEST_MAX_BATCH_HOLD_MS.
      batches: ingestor.isReady(),
      // False while an event has waited longer than INGEST_MAX_EVENT_AGE_MS (held here, or the group's commit stuck).
      events: ingestor.eventsFlowing(),
    }),
  });
  await ingestor.start();
  return {
    async stop() {
      await ingestor.stop();
      await ops.close();
      await db.close();
    },
  };
});
