import { createApi, type ApiOptions, type ApiService } from '@apg/api';
import { DEFAULT_SMART_CONFIG } from '@apg/core';
import { createAggregator, type AggregatorOptions, type AggregatorService } from '@apg/aggregator';
import { createIngestor, type IngestorService } from '@apg/ingestor';
import { DEFAULT_BREAKER_CONFIG_VALUES } from './breaker-defaults';
import {
  createDb,
  createKafka,
  createLogger,
  createMetricsRegistry,
  createRedis,
  ensureTopics,
  type Db,
  type EventSigningOptions,
  type Kafka,
  type Redis,
} from '@apg/platform';
import { HttpClient } from './http-client';
import { TEST_EVENT_SIGNING_SECRET } from './signing';
import { testEnv, uniqueName } from './test-env';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

/** Names one stack owns: its topics, groups and Redis prefix are unique to it. */
export interface StackNames {
  topic: string;
  dlqTopic: string;
  ingestorGroup: string;
  aggregatorGroup: string;
  redisPrefix: string;
}

export function stackNames(): StackNames {
  const id = uniqueName('s');
  return {
    topic: `apg.call-results.${id}`,
    dlqTopic: `apg.call-results.dlq.${id}`,
    ingestorGroup: `apg-ingestor-${id}`,
    aggregatorGroup: `apg-aggregator-${id}`,
    redisPrefix: `${testEnv().redisPrefix}${id}:`,
  };
}

const quietLog = () => createLogger('test', process.env['TEST_LOG_LEVEL'] ?? 'silent');

/** A component plus the connections it owns, closed together. */
interface Owned<T> {
  service: T;
  close(): Promise<void>;
}

export async function startApi(names: StackNames, overrides: Partial<ApiOptions> & { brokers?: string[] } = {}): Promise<Owned<ApiService> & { http: HttpClient; admin: HttpClient; port: number }> {
  const env = testEnv();
  const log = quietLog();
  const db = createDb(env.databaseUrl, { max: 5 });
  const redis = createRedis(env.redisUrl);
  const redisSub = createRedis(env.redisUrl);
  const { brokers = env.brokers, ...apiOverrides } = overrides;
  const kafka = createKafka({ brokers, clientId: 'test-api', logger: log });
  const service = createApi({
    log, db, redis, redisSub, kafka, metrics: createMetricsRegistry('api'),
    options: {
      port: 0,
      host: '127.0.0.1',
      adminToken: ADMIN_TOKEN,
      eventSigningSecret: TEST_EVENT_SIGNING_SECRET,
      bodyLimit: '1mb',
      corsOrigins: [],
      reportTimeoutMs: 2000,
      authCacheTtlMs: 30_000,
      registryCacheTtlMs: 10_000,
      breakerRefreshMs: 5_000,
      topic: names.topic,
      dlqTopic: names.dlqTopic,
      redisPrefix: names.redisPrefix,
      breakerDefaults: { ...DEFAULT_BREAKER_CONFIG_VALUES },
      smart: { ...DEFAULT_SMART_CONFIG },
      defaultStrategy: 'SMART',
      leaseTtlMs: 120_000,
      leaseSweepMs: 1000,
      affinityTtlMs: 30 * 60_000,
      selectRateLimit: 0,
      retentionDays: 7,
      pipeline: { groups: { ingestor: names.ingestorGroup, aggregator: names.aggregatorGroup }, stallMs: 60_000, pollMs: 1000 },
      version: 'test',
      ...apiOverrides,
    },
  });
  const port = await service.start();
  const http = new HttpClient(`http://127.0.0.1:${port}`);
  return {
    service, port, http,
    admin: http.with({ authorization: `Bearer ${ADMIN_TOKEN}` }),
    async close() {
      await service.stop();
      redis.disconnect();
      redisSub.disconnect();
      await db.close();
    },
  };
}

/** The consumers' signing options in tests: the stack's service credential, signatures required, unless overridden. */
export const testSigning = (over: Partial<EventSigningOptions> = {}): EventSigningOptions => ({ serviceSecret: TEST_EVENT_SIGNING_SECRET, ...over });

export async function startIngestor(names: StackNames, signing: Partial<EventSigningOptions> = {}): Promise<Owned<IngestorService>> {
  const env = testEnv();
  const log = quietLog();
  const db = createDb(env.databaseUrl, { max: 5 });
  const kafka = createKafka({ brokers: env.brokers, clientId: 'test-ingestor', logger: log });
  const service = createIngestor({
    log, db, kafka, metrics: createMetricsRegistry('ingestor'),
    options: { topic: names.topic, dlqTopic: names.dlqTopic, partitions: 3, groupId: names.ingestorGroup, maxEventBytes: 16_384, slowCallMs: 5000, signing: testSigning(signing) },
  });
  await service.start();
  return { service, async close() { await service.stop(); await db.close(); } };
}

export interface TestAggregator extends Owned<AggregatorService> {
  /** What the service called `onFatal` with (a real process would have exited). */
  fatals: { err: unknown; where: string }[];
  metrics: ReturnType<typeof createMetricsRegistry>;
}

export async function startAggregator(
  names: StackNames,
  overrides: Partial<Omit<AggregatorOptions, 'signing'>> & { signing?: Partial<EventSigningOptions>; redisUrl?: string; now?: () => number } = {},
): Promise<TestAggregator> {
  const env = testEnv();
  const log = quietLog();
  const { redisUrl = env.redisUrl, now, ...options } = overrides;
  const db = createDb(env.databaseUrl, { max: 5 });
  const redis = createRedis(redisUrl);
  const redisSub = createRedis(redisUrl);
  const kafka = createKafka({ brokers: env.brokers, clientId: 'test-aggregator', logger: log });
  const fatals: { err: unknown; where: string }[] = [];
  const metrics = createMetricsRegistry('aggregator');
  const service = createAggregator({
    log, db, redis, redisSub, kafka, metrics,
    ...(now ? { now } : {}),
    onFatal: (err, where) => fatals.push({ err, where }),
    options: {
      topic: names.topic, partitions: 3, groupId: names.aggregatorGroup, redisPrefix: names.redisPrefix,
      maxEventBytes: 16_384, breakerDefaults: { ...DEFAULT_BREAKER_CONFIG_VALUES }, tickMs: 100,
      ...options,
      signing: testSigning(options.signing),
    },
  });
  await service.start();
  return { service, fatals, metrics, async close() { await service.stop(); redisSub.disconnect(); redis.disconnect(); await db.close(); } };
}

/** Direct handles on the run's real servers, for assertions and for producing raw messages. */
export interface Probe {
  db: Db;
  redis: Redis;
  kafka: Kafka;
  close(): Promise<void>;
}

export async function openProbe(names: StackNames): Promise<Probe> {
  const env = testEnv();
  const log = quietLog();
  const kafka = createKafka({ brokers: env.brokers, clientId: 'test-probe', logger: log });
  await ensureTopics(kafka, [{ topic: names.topic, numPartitions: 3 }, { topic: names.dlqTopic, numPartitions: 1 }]);
  const db = createDb(env.databaseUrl, { max: 3 });
  const redis = createRedis(env.redisUrl);
  return { db, redis, kafka, async close() { redis.disconnect(); await db.close(); } };
}
