import { z } from 'zod';
import { envFragments, parseEnv } from '@apg/platform';

export const AggregatorEnvSchema = z.object({
  ...envFragments.database,
  ...envFragments.redis,
  ...envFragments.kafka,
  ...envFragments.log,
  ...envFragments.breaker,
  KAFKA_GROUP_AGGREGATOR: z.string().min(1).default('apg-aggregator'),
  AGGREGATOR_PORT: z.coerce.number().int().min(0).max(65535).default(8083),
  MAX_EVENT_BYTES: z.coerce.number().int().min(256).default(16_384),
  TICK_MS: z.coerce.number().int().min(10).max(10_000).default(250),
  /** How long an instance's routingParams.breaker is cached (registry announcements expire it early). */
  CONFIG_TTL_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  /** How often Redis is checked for lost data (flush, restart); a loss is repaired within one period. */
  REDIS_CHECK_MS: z.coerce.number().int().min(50).max(10_000).default(500),
});
export type AggregatorEnv = z.infer<typeof AggregatorEnvSchema>;
export const parseAggregatorEnv = (env: NodeJS.ProcessEnv): AggregatorEnv => parseEnv(AggregatorEnvSchema, env);
