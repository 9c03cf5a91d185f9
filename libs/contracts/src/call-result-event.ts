import { z } from 'zod';
import { ApiTypeSchema } from './enums';

/** Current version of {@link CallResultEvent}; consumers dead-letter versions they do not know. */
export const CALL_RESULT_SCHEMA_VERSION = 1;

/** Longest errorMessage kept; longer ones are cut so one provider stack trace cannot bloat a row. */
export const ERROR_MESSAGE_MAX = 1024;

/**
 * Most tokens one event may carry, per field. Far above any real call, and low enough that sums over a
 * window, a minute rollup or a tenant's month stay exact in a double and inside a BIGINT.
 */
export const MAX_TOKENS_PER_EVENT = 1_000_000_000;

/** Most cost one event may carry (any currency unit). */
export const MAX_COST_PER_EVENT = 1_000_000_000;

export const UsageSchema = z.object({
  promptTokens: z.number().int().nonnegative().max(MAX_TOKENS_PER_EVENT).optional(),
  completionTokens: z.number().int().nonnegative().max(MAX_TOKENS_PER_EVENT).optional(),
  totalTokens: z.number().int().nonnegative().max(MAX_TOKENS_PER_EVENT).optional(),
  cost: z.number().nonnegative().max(MAX_COST_PER_EVENT).optional(),
});
export type Usage = z.infer<typeof UsageSchema>;

const id32 = z.string().regex(/^[0-9a-f]{32}$/, 'must be 32 lowercase hex characters');

/**
 * One call outcome, as it travels on topic `apg.call-results` (key = instanceId).
 * Shared by the api (HTTP report → Kafka), the SDK's Kafka reporter and both consumers.
 */
export const CallResultEventSchema = z.object({
  eventId: z.uuid(),
  schemaVersion: z.literal(CALL_RESULT_SCHEMA_VERSION),
  projectId: id32,
  instanceId: id32,
  apiIdentifier: z.string().min(1).max(128),
  apiType: ApiTypeSchema,
  businessId: z.string().min(1).max(128),
  userId: z.string().max(64).optional(),
  selectionId: z.string().max(64).optional(),
  /** Set by the api when the settled lease was a half-open probe; absent = unknown (counts as a probe). */
  probe: z.boolean().optional(),
  success: z.boolean(),
  latencyMs: z.number().int().nonnegative().max(2_147_483_647),
  statusCode: z.number().int().min(100).max(599).optional(),
  errorType: z.string().max(32).optional(),
  errorMessage: z.string().max(ERROR_MESSAGE_MAX).optional(),
  retryAfterMs: z.number().int().nonnegative().optional(),
  usage: UsageSchema.optional(),
  callTimestamp: z.number().int().nonnegative(),
  receivedAt: z.number().int().nonnegative().optional(),
});
export type CallResultEvent = z.infer<typeof CallResultEventSchema>;

export type DecodeResult =
  | { ok: true; event: CallResultEvent }
  | { ok: false; reason: 'malformed_json' | 'unknown_schema_version' | 'invalid_event'; detail: string };

/** Decodes a Kafka message value. Never throws: a bad message is a value, not an exception. */
export function decodeCallResultEvent(value: Buffer | null): DecodeResult {
  if (value === null) return { ok: false, reason: 'malformed_json', detail: 'empty message value' };
  let raw: unknown;
  try {
    raw = JSON.parse(value.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: 'malformed_json', detail: (err as Error).message };
  }
  if (typeof raw === 'object' && raw !== null && 'schemaVersion' in raw) {
    const v = raw.schemaVersion; // `in` narrowed raw to { schemaVersion: unknown }
    if (v !== CALL_RESULT_SCHEMA_VERSION) {
      return { ok: false, reason: 'unknown_schema_version', detail: `schemaVersion ${String(v)}` };
    }
  }
  const parsed = CallResultEventSchema.safeParse(raw);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    return { ok: false, reason: 'invalid_event', detail };
  }
  return { ok: true, event: parsed.data };
}

export function encodeCallResultEvent(event: CallResultEvent): Buffer {
  return Buffer.from(JSON.stringify(event), 'utf8');
}

/** How far in the future a `callTimestamp` may lie (clock skew between a client and the gateway). */
export const MAX_CALL_TIMESTAMP_SKEW_MS = 5 * 60_000;

/**
 * Why a call's timestamp cannot be accepted, or `null` when it can: it must lie within
 * [now − raw retention, now + {@link MAX_CALL_TIMESTAMP_SKEW_MS}]. Older calls would land in a dropped
 * partition; calls dated in the future would sit in windows and rollups that do not exist yet. The api answers
 * 400 with this text; the consumers dead-letter the event with reason `timestamp_out_of_range`.
 */
export function callTimestampProblem(callTimestamp: number, now: number, retentionMs: number): string | null {
  if (callTimestamp > now + MAX_CALL_TIMESTAMP_SKEW_MS) {
    return `callTimestamp ${callTimestamp} is more than ${MAX_CALL_TIMESTAMP_SKEW_MS / 1000} s in the future`;
  }
  if (callTimestamp < now - retentionMs) {
    return `callTimestamp ${callTimestamp} is older than the raw retention (${Math.round(retentionMs / 86_400_000)} days)`;
  }
  return null;
}
