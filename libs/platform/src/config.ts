import { z } from 'zod';

/** Thrown when the environment does not validate; the message names every bad key at once. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses environment variables with a zod object schema. Empty strings count as unset, so
 * `FOO=` in an .env file falls back to the default instead of failing a number coercion.
 */
export function parseEnv<S extends z.ZodObject>(schema: S, env: NodeJS.ProcessEnv): z.infer<S> {
  const cleaned: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') cleaned[k] = v;
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
    );
  }
  return result.data;
}

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** Reusable env fragments: each service composes the ones it needs. */
export const envFragments = {
  database: {
    DATABASE_URL: z.url().default('postgres://postgres@127.0.0.1:5432/apg'),
    DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  },
  redis: {
    REDIS_URL: z.url().default('redis://127.0.0.1:6379'),
    REDIS_PREFIX: z.string().regex(/^[\w.:-]+$/).default('apg:'),
  },
  kafka: {
    KAFKA_BROKERS: z
      .string()
      .default('127.0.0.1:9092')
      .transform((s) => s.split(',').map((b) => b.trim()).filter(Boolean)),
    KAFKA_CLIENT_ID: z.string().default('apg'),
    KAFKA_TOPIC_CALL_RESULTS: z.string().min(1).default('apg.call-results'),
    KAFKA_TOPIC_DLQ: z.string().min(1).default('apg.call-results.dlq'),
    KAFKA_TOPIC_PARTITIONS: z.coerce.number().int().min(1).max(256).default(6),
  },
  /** The two consumer groups: each stage reads its own, the api watches both for stalls. */
  consumerGroups: {
    KAFKA_GROUP_INGESTOR: z.string().min(1).max(255).default('apg-ingestor'),
    KAFKA_GROUP_AGGREGATOR: z.string().min(1).max(255).default('apg-aggregator'),
  },
  log: {
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  },
  /** Global breaker defaults (architecture §6); instances override them with routingParams.breaker. */
  breaker: {
    BREAKER_WINDOW_MS: z.coerce.number().int().min(1000).default(60_000),
    BREAKER_MIN_CALLS: z.coerce.number().int().min(1).default(10),
    BREAKER_FAILURE_RATE: z.coerce.number().gt(0).max(1).default(0.5),
    BREAKER_CONSECUTIVE_FAILURES: z.coerce.number().int().min(1).default(5),
    BREAKER_OPEN_MS: z.coerce.number().int().min(0).default(30_000),
    BREAKER_MAX_OPEN_MS: z.coerce.number().int().min(0).default(300_000),
    BREAKER_HALF_OPEN_PROBES: z.coerce.number().int().min(1).default(3),
    BREAKER_SLOW_CALL_MS: z.coerce.number().int().min(0).default(5_000),
    BREAKER_SLOW_CALL_RATE: z.coerce.number().gt(0).max(1).default(0.8),
  },
  bool,
};

/** Maps the BREAKER_* variables onto the core's BreakerConfig shape. */
export function breakerDefaultsFromEnv(e: {
  BREAKER_WINDOW_MS: number; BREAKER_MIN_CALLS: number; BREAKER_FAILURE_RATE: number;
  BREAKER_CONSECUTIVE_FAILURES: number; BREAKER_OPEN_MS: number; BREAKER_MAX_OPEN_MS: number;
  BREAKER_HALF_OPEN_PROBES: number; BREAKER_SLOW_CALL_MS: number; BREAKER_SLOW_CALL_RATE: number;
}) {
  return {
    windowMs: e.BREAKER_WINDOW_MS,
    minCalls: e.BREAKER_MIN_CALLS,
    failureRateThreshold: e.BREAKER_FAILURE_RATE,
    consecutiveFailures: e.BREAKER_CONSECUTIVE_FAILURES,
    openDurationMs: e.BREAKER_OPEN_MS,
    maxOpenDurationMs: e.BREAKER_MAX_OPEN_MS,
    halfOpenProbes: e.BREAKER_HALF_OPEN_PROBES,
    slowCallMs: e.BREAKER_SLOW_CALL_MS,
    slowCallRateThreshold: e.BREAKER_SLOW_CALL_RATE,
  };
}
