// Composition root of the aggregator.
import { answersWithin, breakerDefaultsFromEnv, createDb, createIoMetrics, createKafka, createLogger, createMetricsRegistry, createRedis, redisTargetFromEnv, runMain, startOpsServer, topicReplicationFromEnv } from '@apg/platform';
import { createAggregator } from './aggregator';
import { parseAggregatorEnv } from './config';

runMain('aggregator', async ({ fatal }) => {
  const env = parseAggregatorEnv(process.env);
  const log = createLogger('aggregator', env.LOG_LEVEL);
  const metrics = createMetricsRegistry('aggregator');
  const io = createIoMetrics(metrics);
  // Statements bounded: a hung connection fails ("Query read timeout", an infrastructure error) and is
  // replaced, instead of holding a batch until the watchdog or the session gives up.
  const db = createDb(env.DATABASE_URL, {
    max: env.DATABASE_POOL_MAX, io, application: 'apg-aggregator', queryTimeoutMs: env.DATABASE_QUERY_TIMEOUT_MS, connectTimeoutMs: env.DATABASE_CONNECT_TIMEOUT_MS,
  });
  const redis = createRedis(redisTargetFromEnv(env), (err) => log.warn({ err: err.message }, 'redis error'));
  // Subscriptions need a connection of their own (a subscribed client runs no other command).
  const redisSub = createRedis(redisTargetFromEnv(env), (err) => log.warn({ err: err.message }, 'redis subscriber error'));
  const kafka = createKafka({ brokers: env.KAFKA_BROKERS, clientId: `${env.KAFKA_CLIENT_ID}-aggregator`, logger: log });
  const aggregator = createAggregator({
    log, db, redis, redisSub, kafka, metrics, io,
    // A bug or a consumer gone for good: exit 70 at once; the supervisor restarts us and we resume from
    // the committed offsets (nothing past the last write was committed).
    onFatal: fatal,
    options: {
      topic: env.KAFKA_TOPIC_CALL_RESULTS,
      partitions: env.KAFKA_TOPIC_PARTITIONS,
      replication: topicReplicationFromEnv(env),
      groupId: env.KAFKA_GROUP_AGGREGATOR,
      redisPrefix: env.REDIS_PREFIX,
      maxEventBytes: env.MAX_EVENT_BYTES,
      breakerDefaults: breakerDefaultsFromEnv(env),
      tickMs: env.TICK_MS,
      configTtlMs: env.CONFIG_TTL_MS,
      redisCheckMs: env.REDIS_CHECK_MS,
      sessionTimeoutMs: env.AGGREGATOR_SESSION_TIMEOUT_MS,
      groupHeartbeatMs: env.AGGREGATOR_GROUP_HEARTBEAT_MS,
      rebalanceTimeoutMs: env.AGGREGATOR_REBALANCE_TIMEOUT_MS,
      maxHeldMs: env.AGGREGATOR_MAX_HELD_MS,
      maxHungMs: env.AGGREGATOR_MAX_HUNG_MS,
      maxConsumerRestarts: env.AGGREGATOR_MAX_CONSUMER_RESTARTS,
      maxEventAgeMs: env.AGGREGATOR_MAX_EVENT_AGE_MS,
      lagPollMs: env.AGGREGATOR_LAG_POLL_MS,
      retentionMs: env.RETENTION_DAYS * 86_400_000,
      signing: { serviceSecret: env.EVENT_SIGNING_SECRET, requireSigned: env.REQUIRE_SIGNED_EVENTS, keyCacheTtlMs: env.SIGNING_KEY_CACHE_TTL_MS },
    },
  });
  const ops = await startOpsServer({
    port: env.AGGREGATOR_PORT,
    host: '0.0.0.0',
    registry: metrics,
    readiness: async () => ({
      postgres: await answersWithin(() => db.ping()),
      redis: await answersWithin(() => redis.ping()),
      ...aggregator.readiness(),
    }),
  });
  await aggregator.start();
  return {
    async stop() {
      await aggregator.stop();
      await ops.close();
      redisSub.disconnect();
      redis.disconnect();
      await db.close();
    },
  };
});
