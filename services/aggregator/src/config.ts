import { z } from 'zod';
import { DEFAULT_RAW_RETENTION_DAYS, envFragments, parseEnv } from '@apg/platform';

export const AggregatorEnvSchema = z.object({
  ...envFragments.database,
  ...envFragments.redis,
  ...envFragments.kafka,
  ...envFragments.log,
  ...envFragments.eventSigning,
  ...envFragments.breaker,
  KAFKA_GROUP_AGGREGATOR: envFragments.consumerGroups.KAFKA_GROUP_AGGREGATOR,
  AGGREGATOR_PORT: z.coerce.number().int().min(0).max(65535).default(8083),
  MAX_EVENT_BYTES: z.coerce.number().int().min(256).default(16_384),
  TICK_MS: z.coerce.number().int().min(10).max(10_000).default(250),
  /** How long an instance's routingParams.breaker is cached (registry announcements expire it early). */
  CONFIG_TTL_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  /** How often Redis is checked for lost data (flush, restart); a loss is repaired within one period. */
  REDIS_CHECK_MS: z.coerce.number().int().min(50).max(10_000).default(500),
  /** Raw retention in days (as the ingestor's): events dated earlier, or > 5 min ahead, are not counted. */
  RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(DEFAULT_RAW_RETENTION_DAYS),
  /**
   * Consumer-group session: a member that died without leaving (kill -9) holds its partitions this long.
   * The broker refuses values outside its group.min/max.session.timeout.ms (6 s – 30 min by default).
   */
  AGGREGATOR_SESSION_TIMEOUT_MS: z.coerce.number().int().min(1000).max(300_000).default(6000),
  /** How often the member heart-beats the group coordinator; must be below a third of the session. */
  AGGREGATOR_GROUP_HEARTBEAT_MS: z.coerce.number().int().min(100).max(100_000).default(1000),
  /** How long a rebalance waits for members busy with a batch before evicting them. */
  AGGREGATOR_REBALANCE_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(10_000),
  /** A batch held (retrying, or waiting on a dependency) longer than this turns `/readyz` 503. */
  AGGREGATOR_MAX_HELD_MS: z.coerce.number().int().min(100).max(3_600_000).default(10_000),
  /** A batch step that has not returned for this long (a black-holed connection) makes the process exit 70. */
  AGGREGATOR_MAX_HUNG_MS: z.coerce.number().int().min(1000).max(3_600_000).default(60_000),
  // Consumers kafkajs gave up on that are replaced in-process, in a row, before the process exits 70 instead.
  AGGREGATOR_MAX_CONSUMER_RESTARTS: z.coerce.number().int().min(0).max(100).default(5),
  /**
   * Events waiting longer than this to be applied (held here, or the group's commit stuck behind the log
   * end) turn `/readyz` 503 and stop the heartbeat (the api then decides with its local breakers).
   */
  AGGREGATOR_MAX_EVENT_AGE_MS: z.coerce.number().int().min(1000).max(86_400_000).default(30_000),
  /** How often the group's committed offsets and the log ends are polled (lag gauges, the wait above). */
  AGGREGATOR_LAG_POLL_MS: z.coerce.number().int().min(100).max(600_000).default(5000),
}).refine((e) => e.AGGREGATOR_GROUP_HEARTBEAT_MS * 3 <= e.AGGREGATOR_SESSION_TIMEOUT_MS, {
  path: ['AGGREGATOR_GROUP_HEARTBEAT_MS'],
  message: 'must be at most a third of AGGREGATOR_SESSION_TIMEOUT_MS',
});
export type AggregatorEnv = z.infer<typeof AggregatorEnvSchema>;
export const parseAggregatorEnv = (env: NodeJS.ProcessEnv): AggregatorEnv => parseEnv(AggregatorEnvSchema, env);
