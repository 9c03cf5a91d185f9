import { z } from 'zod';
import { DEFAULT_RAW_RETENTION_DAYS, envFragments, parseEnv } from '@apg/platform';

const int = (min: number, max: number, def: number) => z.coerce.number().int().min(min).max(max).default(def);
const MiB = 1024 * 1024;

export const IngestorEnvSchema = z.object({
  ...envFragments.database,
  ...envFragments.kafka,
  ...envFragments.log,
  ...envFragments.eventSigning,
  KAFKA_GROUP_INGESTOR: envFragments.consumerGroups.KAFKA_GROUP_INGESTOR,
  INGESTOR_PORT: int(0, 65535, 8082),
  MAX_EVENT_BYTES: z.coerce.number().int().min(256).default(16_384),
  BREAKER_SLOW_CALL_MS: envFragments.breaker.BREAKER_SLOW_CALL_MS,
  // Throughput (see IngestorOptions for what each one does).
  INGEST_MAX_ROWS_PER_WRITE: int(1, 100_000, 10_000),
  INGEST_WRITE_CONCURRENCY: int(1, 16, 2),
  INGEST_MAX_PENDING_ROWS: int(1, 1_000_000, 40_000),
  INGEST_PARTITIONS_CONCURRENCY: int(1, 256, 6),
  INGEST_FETCH_MAX_BYTES_PER_PARTITION: int(64 * 1024, 64 * MiB, 2 * MiB),
  INGEST_FETCH_MAX_BYTES: int(64 * 1024, 256 * MiB, 16 * MiB),
  INGEST_FETCH_MIN_BYTES: int(1, 16 * MiB, 1),
  INGEST_FETCH_MAX_WAIT_MS: int(10, 10_000, 500),
  INGEST_SESSION_TIMEOUT_MS: int(6000, 300_000, 30_000),
  INGEST_MAX_BATCH_HOLD_MS: int(1000, 86_400_000, 60_000),
  // Stalls (README "Stalls"): events waiting longer than this turn /readyz 503; how often the lag is polled.
  INGEST_MAX_EVENT_AGE_MS: int(1000, 86_400_000, 60_000),
  INGEST_LAG_POLL_MS: int(100, 600_000, 5000),
  // Retention.
  RETENTION_DAYS: int(1, 3650, DEFAULT_RAW_RETENTION_DAYS),
  ROLLUP_RETENTION_DAYS: int(1, 36_500, 90),
  PARTITION_PREMAKE_DAYS: int(1, 60, 3),
  RETENTION_INTERVAL_MS: int(10_000, 86_400_000, 3_600_000),
});
export type IngestorEnv = z.infer<typeof IngestorEnvSchema>;
export const parseIngestorEnv = (env: NodeJS.ProcessEnv): IngestorEnv => parseEnv(IngestorEnvSchema, env);
