import path from 'node:path';
import { z } from 'zod';
import { STRATEGY_NAMES, type StrategyName } from '@apg/core';
import { envFragments, parseEnv } from '@apg/platform';
import { DEFAULT_CLIENT_THROTTLE } from './quotas/client-throttle';
import { DEFAULT_QUOTAS, type ProjectQuotas } from './quotas/project-quotas';

export const ApiEnvSchema = z.object({
  ...envFragments.database,
  ...envFragments.redis,
  ...envFragments.kafka,
  ...envFragments.consumerGroups,
  ...envFragments.log,
  ...envFragments.breaker,
  PORT: z.coerce.number().int().min(0).max(65535).default(8081),
  HOST: z.string().default('0.0.0.0'),
  API_OPS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  ...envFragments.eventSigningSecret,
  ADMIN_TOKEN: z.string({ error: 'ADMIN_TOKEN is required (the admin credential)' }).min(16, 'ADMIN_TOKEN must be at least 16 characters'),
  BODY_LIMIT: z.string().regex(/^\d+(b|kb|mb)$/i, 'like 1mb or 512kb').default('1mb'),
  CORS_ORIGINS: z.string().default('').transform((s) => s.split(',').map((o) => o.trim()).filter(Boolean)),
  REPORT_TIMEOUT_MS: z.coerce.number().int().min(50).max(30_000).default(1000),
  AUTH_CACHE_TTL_MS: z.coerce.number().int().min(100).default(30_000),
  REGISTRY_CACHE_TTL_MS: z.coerce.number().int().min(100).default(10_000),
  BREAKER_REFRESH_MS: z.coerce.number().int().min(100).default(5_000),
  SEED_API_KEY: z.string().min(8).optional(),
  DEFAULT_STRATEGY: z.enum(STRATEGY_NAMES as [StrategyName, ...StrategyName[]]).default('SMART'),
  LEASE_TTL_MS: z.coerce.number().int().min(1000).default(120_000),
  LEASE_SWEEP_MS: z.coerce.number().int().min(50).default(1000),
  AFFINITY_TTL_MS: z.coerce.number().int().min(1000).default(30 * 60_000),
  SELECT_RATE_LIMIT_PER_SECOND: z.coerce.number().int().min(0).default(0),
  // Per-project quotas (README "Quotas"); an admin overrides them per project (PUT /api/admin/projects/{id}/quotas).
  QUOTA_MAX_INSTANCES: z.coerce.number().int().min(1).max(1_000_000).default(DEFAULT_QUOTAS.maxInstances),
  QUOTA_MAX_JSON_BYTES: z.coerce.number().int().min(256).max(1_048_576).default(DEFAULT_QUOTAS.maxJsonBytes),
  QUOTA_MAX_BATCH_ITEMS: z.coerce.number().int().min(1).max(100_000).default(DEFAULT_QUOTAS.maxBatchItems),
  QUOTA_SELECTS_PER_SECOND: z.coerce.number().int().min(0).max(1_000_000).default(DEFAULT_QUOTAS.selectsPerSecond),
  QUOTA_MAX_AFFINITY_BINDINGS: z.coerce.number().int().min(1).max(10_000_000).default(DEFAULT_QUOTAS.maxAffinityBindings),
  QUOTA_MAX_OPEN_LEASES: z.coerce.number().int().min(1).max(10_000_000).default(DEFAULT_QUOTAS.maxOpenLeases),
  // Anonymous routes, per client address (IPv6 per /64) and api replica.
  ANON_RATE_PER_SECOND: z.coerce.number().positive().max(100_000).default(DEFAULT_CLIENT_THROTTLE.ratePerSecond),
  ANON_BURST: z.coerce.number().int().min(1).max(100_000).default(DEFAULT_CLIENT_THROTTLE.burst),
  ANON_MAX_CLIENTS: z.coerce.number().int().min(1).max(1_000_000).default(DEFAULT_CLIENT_THROTTLE.maxClients),
  SMART_EXPLORATION_RATIO: z.coerce.number().min(0).max(1).optional(),
  // Per-instance series (apg_instance_*{instance}): opt-in, and at most this many instance ids get their own.
  METRICS_PER_INSTANCE: envFragments.bool.default(false),
  METRICS_PER_INSTANCE_MAX: z.coerce.number().int().min(1).max(10_000).default(500),
  /** Days raw call results are kept (the ingestor's RETENTION_DAYS): reports of older calls are refused. */
  RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(7),
  // The circuit around Redis (see gateway/redis-circuit.ts): per-call timeout, failures in a row that
  // open it, and how often an open circuit pings Redis to close again.
  REDIS_TIMEOUT_MS: z.coerce.number().int().min(10).max(10_000).default(250),
  REDIS_CIRCUIT_FAILURES: z.coerce.number().int().min(1).max(1000).default(3),
  // Pipeline stalls (README "Stalls"): a consumer group whose oldest uncommitted event has waited longer
  // than PIPELINE_STALL_MS is named in /api/health; its lag is read from Kafka every PIPELINE_LAG_POLL_MS.
  PIPELINE_STALL_MS: z.coerce.number().int().min(1000).max(86_400_000).default(60_000),
  PIPELINE_LAG_POLL_MS: z.coerce.number().int().min(100).max(600_000).default(5000),
  // Admin console (README "Admin console"): session lifetime, Secure cookie behind https, where its build is,
  // and the login throttle per client address (a burst, then so many attempts a minute).
  CONSOLE_SESSION_TTL_MS: z.coerce.number().int().min(60_000).max(7 * 86_400_000).default(8 * 3_600_000),
  CONSOLE_COOKIE_SECURE: envFragments.bool.default(false),
  CONSOLE_DIR: z.string().min(1).optional(),
  CONSOLE_LOGIN_BURST: z.coerce.number().int().min(1).max(1000).default(10),
  CONSOLE_LOGIN_PER_MINUTE: z.coerce.number().min(0.1).max(10_000).default(6),
  REDIS_CIRCUIT_PROBE_MS: z.coerce.number().int().min(50).max(60_000).default(500),
  // Postgres outages (README "Outages"). The api's statements are short: a hung server must cost a write
  // seconds, not the platform's 30 s, before the circuit opens and the next ones fail at once.
  DATABASE_QUERY_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(3000),
  DATABASE_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(2000),
  PG_CIRCUIT_FAILURES: z.coerce.number().int().min(1).max(1000).default(3),
  PG_CIRCUIT_PROBE_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
  // How long cached keys, projects and instances are served after Postgres last answered, while it cannot.
  STALE_SERVE_MAX_MS: z.coerce.number().int().min(1000).max(7 * 86_400_000).default(30 * 60_000),
  // The report spool (README "Operations", Kafka row): where reports Kafka cannot take are written ahead.
  // Unset: .run/report-spool/api-<PORT> under the working directory (api-pid-<pid> when PORT is 0).
  REPORT_SPOOL_DIR: z.string().min(1).optional(),
  REPORT_SPOOL_MAX_BYTES: z.coerce.number().int().min(4096).max(1024 ** 4).default(1024 ** 3),
  REPORT_SPOOL_MAX_AGE_MS: z.coerce.number().int().min(1000).default(86_400_000),
  REPORT_SPOOL_FSYNC: z.enum(['always', 'never']).default('always'),
}).superRefine((e, ctx) => {
  // A spooled report older than the raw retention would be refused by every consumer when drained.
  if (e.REPORT_SPOOL_MAX_AGE_MS > e.RETENTION_DAYS * 86_400_000) {
    ctx.addIssue({ code: 'custom', path: ['REPORT_SPOOL_MAX_AGE_MS'], message: `must not exceed RETENTION_DAYS (${e.RETENTION_DAYS} days = ${e.RETENTION_DAYS * 86_400_000} ms)` });
  }
});
export type ApiEnv = z.infer<typeof ApiEnvSchema>;

/** Where the report spool lives when REPORT_SPOOL_DIR is unset: one directory per port, so replicas never share one. */
export function defaultSpoolDir(port: number, cwd: string, pid: number): string {
  return path.join(cwd, '.run', 'report-spool', port === 0 ? `api-pid-${pid}` : `api-${port}`);
}

export const parseApiEnv = (env: NodeJS.ProcessEnv): ApiEnv => parseEnv(ApiEnvSchema, env);

/** The QUOTA_* variables as the api's quota defaults. */
export function quotasFromEnv(e: ApiEnv): ProjectQuotas {
  return {
    maxInstances: e.QUOTA_MAX_INSTANCES,
    maxJsonBytes: e.QUOTA_MAX_JSON_BYTES,
    maxBatchItems: e.QUOTA_MAX_BATCH_ITEMS,
    selectsPerSecond: e.QUOTA_SELECTS_PER_SECOND,
    maxAffinityBindings: e.QUOTA_MAX_AFFINITY_BINDINGS,
    maxOpenLeases: e.QUOTA_MAX_OPEN_LEASES,
  };
}
