import { z } from 'zod';
import { envFragments, parseEnv } from '@apg/platform';

export const IngestorEnvSchema = z.object({
  ...envFragments.database,
  ...envFragments.kafka,
  ...envFragments.log,
  KAFKA_GROUP_INGESTOR: z.string().min(1).default('apg-ingestor'),
  INGESTOR_PORT: z.coerce.number().int().min(0).max(65535).default(8082),
  MAX_EVENT_BYTES: z.coerce.number().int().min(256).default(16_384),
  BREAKER_SLOW_CALL_MS: envFragments.breaker.BREAKER_SLOW_CALL_MS,
});
export type IngestorEnv = z.infer<typeof IngestorEnvSchema>;
export const parseIngestorEnv = (env: NodeJS.ProcessEnv): IngestorEnv => parseEnv(IngestorEnvSchema, env);
