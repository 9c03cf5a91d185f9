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
    REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9:_.-]+$/).default('apg:'),
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
  log: {
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  },
  bool,
};
