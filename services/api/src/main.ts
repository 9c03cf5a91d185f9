// Composition root of the api: the only place that reads the environment, opens connections,
// listens and handles signals.
import { breakerDefaultsFromEnv, createDb, createIoMetrics, createKafka, createLogger, createMetricsRegistry, createRedis, redisTargetFromEnv, runMain } from '@apg/platform';
import { DEFAULT_SMART_CONFIG, resolveSmartConfig } from '@apg/core';
import path from 'node:path';
import { createApi } from './app';
import { removeStaleSpoolDirs } from './spool/stale-spool-dirs';
import { defaultSpoolDir, parseApiEnv, quotasFromEnv } from './config';

runMain('api', async () => {
  const env = parseApiEnv(process.env);
  const log = createLogger('api', env.LOG_LEVEL);
  const spoolDir = env.REPORT_SPOOL_DIR ?? defaultSpoolDir(env.PORT, process.cwd(), process.pid);
  // Ephemeral-port apis (tests, benches) get a spool directory per process: clear the empty ones dead ones left.
  if (env.REPORT_SPOOL_DIR === undefined && env.PORT === 0) await removeStaleSpoolDirs(path.dirname(spoolDir), log);
  const metrics = createMetricsRegistry('api');
  const io = createIoMetrics(metrics);
  const db = createDb(env.DATABASE_URL, {
    max: env.DATABASE_POOL_MAX, io, application: 'apg-api', queryTimeoutMs: env.DATABASE_QUERY_TIMEOUT_MS, connectTimeoutMs: env.DATABASE_CONNECT_TIMEOUT_MS,
  });
  const onRedisError = (err: Error) => log.warn({ err: err.message }, 'redis error');
  const redis = createRedis(redisTargetFromEnv(env), onRedisError);
  const redisSub = createRedis(redisTargetFromEnv(env), onRedisError);
  const kafka = createKafka({ brokers: env.KAFKA_BROKERS, clientId: `${env.KAFKA_CLIENT_ID}-api`, logger: log });

  const api = createApi({
    log, db, redis, redisSub, kafka, metrics, io,
    options: {
      port: env.PORT,
      host: env.HOST,
      adminToken: env.ADMIN_TOKEN,
      eventSigningSecret: env.EVENT_SIGNING_SECRET,
      bodyLimit: env.BODY_LIMIT,
      corsOrigins: env.CORS_ORIGINS,
      reportTimeoutMs: env.REPORT_TIMEOUT_MS,
      authCacheTtlMs: env.AUTH_CACHE_TTL_MS,
      registryCacheTtlMs: env.REGISTRY_CACHE_TTL_MS,
      breakerRefreshMs: env.BREAKER_REFRESH_MS,
      topic: env.KAFKA_TOPIC_CALL_RESULTS,
      redisPrefix: env.REDIS_PREFIX,
      breakerDefaults: breakerDefaultsFromEnv(env),
      smart: resolveSmartConfig(DEFAULT_SMART_CONFIG, env.SMART_EXPLORATION_RATIO === undefined ? {} : { explorationRatio: env.SMART_EXPLORATION_RATIO }).config,
      defaultStrategy: env.DEFAULT_STRATEGY,
      leaseTtlMs: env.LEASE_TTL_MS,
      leaseSweepMs: env.LEASE_SWEEP_MS,
      affinityTtlMs: env.AFFINITY_TTL_MS,
      selectRateLimit: env.SELECT_RATE_LIMIT_PER_SECOND,
      retentionDays: env.RETENTION_DAYS,
      perInstanceMetrics: { perInstance: env.METRICS_PER_INSTANCE, perInstanceMax: env.METRICS_PER_INSTANCE_MAX },
      pipeline: {
        groups: { ingestor: env.KAFKA_GROUP_INGESTOR, aggregator: env.KAFKA_GROUP_AGGREGATOR },
        stallMs: env.PIPELINE_STALL_MS,
        pollMs: env.PIPELINE_LAG_POLL_MS,
      },
      redisCircuit: { timeoutMs: env.REDIS_TIMEOUT_MS, failureThreshold: env.REDIS_CIRCUIT_FAILURES, probeIntervalMs: env.REDIS_CIRCUIT_PROBE_MS },
      pgCircuit: { failureThreshold: env.PG_CIRCUIT_FAILURES, probeIntervalMs: env.PG_CIRCUIT_PROBE_MS },
      staleServeMaxMs: env.STALE_SERVE_MAX_MS,
      quotas: quotasFromEnv(env),
      dlqTopic: env.KAFKA_TOPIC_DLQ,
      console: {
        sessionTtlMs: env.CONSOLE_SESSION_TTL_MS,
        cookieSecure: env.CONSOLE_COOKIE_SECURE,
        loginBurst: env.CONSOLE_LOGIN_BURST,
        loginPerMinute: env.CONSOLE_LOGIN_PER_MINUTE,
        ...(env.CONSOLE_DIR !== undefined ? { dir: env.CONSOLE_DIR } : {}),
      },
      reportSpool: {
        dir: spoolDir,
        maxBytes: env.REPORT_SPOOL_MAX_BYTES,
        maxAgeMs: env.REPORT_SPOOL_MAX_AGE_MS,
        fsync: env.REPORT_SPOOL_FSYNC,
      },
      ...(env.API_OPS_PORT !== undefined ? { opsPort: env.API_OPS_PORT } : {}),
      anonymousThrottle: { ratePerSecond: env.ANON_RATE_PER_SECOND, burst: env.ANON_BURST, maxClients: env.ANON_MAX_CLIENTS },
      ...(env.SEED_API_KEY ? { seedApiKey: env.SEED_API_KEY } : {}),
      version: process.env['npm_package_version'] ?? '0.1.0',
    },
  });
  await api.start();
  return {
    async stop() {
      await api.stop();
      redis.disconnect();
      redisSub.disconnect();
      await db.close();
    },
  };
});
