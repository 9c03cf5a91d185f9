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
  const problems = result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  // Rules across keys, for the fragments this schema uses; reported with the per-key problems.
  if ('REDIS_SENTINELS' in schema.shape) problems.push(...redisTargetProblems(cleaned));
  if (!result.success || problems.length) throw new ConfigError(problems);
  return result.data;
}

/** `host:port` pairs, comma-separated (Sentinels); a bad entry is named. */
const hostPortList = z.string().transform((s, ctx) => {
  const out: { host: string; port: number }[] = [];
  for (const part of s.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^(\[[\da-f:]+\]|[\w.-]+):(\d{1,5})$/i.exec(part);
    const port = m ? Number(m[2]) : 0;
    if (!m || port < 1 || port > 65535) {
      ctx.addIssue({ code: 'custom', message: `'${part}' is not host:port` });
      return z.NEVER;
    }
    out.push({ host: m[1]!.replace(/^\[|\]$/g, ''), port });
  }
  if (out.length === 0) ctx.addIssue({ code: 'custom', message: 'lists no host:port' });
  return out;
});

/**
 * Where Redis is: one server (`REDIS_URL`), or a primary found and followed through Sentinels
 * (`REDIS_SENTINELS` + `REDIS_SENTINEL_NAME`). Exactly one of the two may be set; with neither, the
 * local default `redis://127.0.0.1:6379`.
 */
export type RedisTarget =
  | { kind: 'url'; url: string }
  | { kind: 'sentinel'; sentinels: { host: string; port: number }[]; name: string };

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

function redisTargetProblems(env: Record<string, string>): string[] {
  const url = env['REDIS_URL'] !== undefined;
  const sentinels = env['REDIS_SENTINELS'] !== undefined;
  const name = env['REDIS_SENTINEL_NAME'] !== undefined;
  const problems: string[] = [];
  if (url && sentinels) problems.push('REDIS_URL: set either REDIS_URL or REDIS_SENTINELS (+ REDIS_SENTINEL_NAME), not both');
  if (sentinels && !name) problems.push('REDIS_SENTINEL_NAME: required with REDIS_SENTINELS (the primary\'s name the Sentinels monitor)');
  if (name && !sentinels) problems.push('REDIS_SENTINELS: required with REDIS_SENTINEL_NAME');
  return problems;
}

/** The parsed redis fragment as a {@link RedisTarget} (validated by parseEnv: at most one of the two). */
export function redisTargetFromEnv(e: {
  REDIS_URL?: string | undefined;
  REDIS_SENTINELS?: { host: string; port: number }[] | undefined;
  REDIS_SENTINEL_NAME?: string | undefined;
}): RedisTarget {
  if (e.REDIS_SENTINELS && e.REDIS_SENTINEL_NAME) return { kind: 'sentinel', sentinels: e.REDIS_SENTINELS, name: e.REDIS_SENTINEL_NAME };
  return { kind: 'url', url: e.REDIS_URL ?? DEFAULT_REDIS_URL };
}

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** The api's service credential for signed events: the api signs with it, the consumers verify with it. */
const EVENT_SIGNING_SECRET = z
  .string({ error: 'EVENT_SIGNING_SECRET is required (the api signs its events with it, the consumers verify them)' })
  .min(32, 'EVENT_SIGNING_SECRET must be at least 32 characters');

/** Reusable env fragments: each service composes the ones it needs. */
export const envFragments = {
  database: {
    DATABASE_URL: z.url().default('postgres://postgres@127.0.0.1:5432/apg'),
    DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
    // A statement that has not answered by then fails (a hung connection is destroyed, the retry gets a new one).
    DATABASE_QUERY_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
    DATABASE_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
  },
  redis: {
    /** One Redis server; default redis://127.0.0.1:6379 when REDIS_SENTINELS is not set either. */
    REDIS_URL: z.url().optional(),
    /** Sentinels (`host:port,...`) that name the current primary; instead of REDIS_URL. */
    REDIS_SENTINELS: hostPortList.optional(),
    /** The primary's name the Sentinels monitor (`sentinel monitor <name> ...`). */
    REDIS_SENTINEL_NAME: z.string().regex(/^[\w.-]{1,64}$/).optional(),
    REDIS_PREFIX: z.string().regex(/^[\w.:-]+$/).default('apg:'),
  },
  kafka: {
    /** Every broker of the cluster (`host:port,...`); clients bootstrap from any that answers. */
    KAFKA_BROKERS: z
      .string()
      .default('127.0.0.1:9092')
      .transform((s) => s.split(',').map((b) => b.trim()).filter(Boolean)),
    KAFKA_CLIENT_ID: z.string().default('apg'),
    KAFKA_TOPIC_CALL_RESULTS: z.string().min(1).default('apg.call-results'),
    KAFKA_TOPIC_DLQ: z.string().min(1).default('apg.call-results.dlq'),
    KAFKA_TOPIC_PARTITIONS: z.coerce.number().int().min(1).max(256).default(6),
    /** Copies of each partition of the topics the services create (3 on the HA stack). */
    KAFKA_TOPIC_REPLICATION_FACTOR: z.coerce.number().int().min(1).max(16).default(1),
    /** The topics' min.insync.replicas (2 on the HA stack); unset: the broker's default. */
    KAFKA_TOPIC_MIN_INSYNC_REPLICAS: z.coerce.number().int().min(1).max(16).optional(),
  },
  /** The two consumer groups: each stage reads its own, the api watches both for stalls. */
  consumerGroups: {
    KAFKA_GROUP_INGESTOR: z.string().min(1).max(255).default('apg-ingestor'),
    KAFKA_GROUP_AGGREGATOR: z.string().min(1).max(255).default('apg-aggregator'),
  },
  log: {
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  },
  /** Signed events (README "Publishing results to Kafka"): the api's credential, and what the consumers require. */
  eventSigning: {
    EVENT_SIGNING_SECRET,
    REQUIRE_SIGNED_EVENTS: bool.default(true),
    /** How long a consumer trusts a project key from memory: a revocation takes effect within it. */
    SIGNING_KEY_CACHE_TTL_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  },
  /** The api only signs. */
  eventSigningSecret: { EVENT_SIGNING_SECRET },
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

/** The KAFKA_TOPIC_REPLICATION_* variables as ensureTopics' replication settings. */
export function topicReplicationFromEnv(e: { KAFKA_TOPIC_REPLICATION_FACTOR: number; KAFKA_TOPIC_MIN_INSYNC_REPLICAS?: number | undefined }) {
  return { factor: e.KAFKA_TOPIC_REPLICATION_FACTOR, minInsyncReplicas: e.KAFKA_TOPIC_MIN_INSYNC_REPLICAS };
}

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
