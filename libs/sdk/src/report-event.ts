import { randomUUID } from 'node:crypto';
import {
  CALL_RESULT_SCHEMA_VERSION,
  callTimestampProblem,
  CallResultEventSchema,
  ERROR_MESSAGE_MAX,
  isProbeSelection,
  selectionEventId,
  truncateUtf16,
  type CallResultEvent,
} from '@apg/contracts';
import type { CallOutcome, KafkaCallOutcome } from './types';

export type BuiltEvent = { ok: true; event: CallResultEvent } | { ok: false; detail: string };

/**
 * The `CallResultEvent` for one outcome, validated against the shared schema. The eventId is derived from
 * the selection when there is one — the same id the api gives an HTTP report of it, so the outcome of one
 * selection counts once however many times and ways it is reported — else random. Never throws: whatever
 * the caller passed, the answer is an event or the reason there is none.
 */
export function buildCallResultEvent(input: KafkaCallOutcome, now: number, newId: () => string = randomUUID): BuiltEvent {
  try {
    const event: CallResultEvent = {
      eventId: input.selectionId ? selectionEventId(input.projectId, input.selectionId) : newId(),
      schemaVersion: CALL_RESULT_SCHEMA_VERSION,
      projectId: input.projectId,
      instanceId: input.instanceId,
      apiIdentifier: input.apiIdentifier,
      apiType: input.apiType,
      businessId: input.businessId,
      success: input.success,
      latencyMs: roundLatency(input.latencyMs),
      callTimestamp: input.callTimestamp ?? now,
    };
    copyOptional(input, event);
    if (input.selectionId) {
      event.selectionId = input.selectionId;
      event.probe = isProbeSelection(input.selectionId);
    }
    const parsed = CallResultEventSchema.safeParse(event);
    if (!parsed.success) return { ok: false, detail: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') };
    // The consumers dead-letter an event dated more than 5 min ahead (timestamp_out_of_range): refused here, it is
    // counted as dropped instead of as sent. The past bound is the gateway's RETENTION_DAYS, unknown here: not checked.
    const future = callTimestampProblem(parsed.data.callTimestamp, now, Infinity);
    if (future !== null) return { ok: false, detail: future };
    return { ok: true, event: parsed.data };
  } catch (err) {
    return { ok: false, detail: `unreadable outcome: ${(err as Error).message}` };
  }
}

/** The body of `POST /api/gateway/report-result` for one outcome (usage under the seed's `usageMetrics`). */
export function reportRequestOf(input: CallOutcome): Record<string, unknown> {
  const body: Record<string, unknown> = {
    instanceId: input.instanceId,
    businessId: input.businessId,
    success: input.success,
    latencyMs: roundLatency(input.latencyMs),
  };
  if (input.callTimestamp !== undefined) body['callTimestamp'] = input.callTimestamp;
  copyOptional(input, body);
  if (input.selectionId) body['selectionId'] = input.selectionId;
  if (body['usage'] !== undefined) {
    body['usageMetrics'] = body['usage'];
    delete body['usage'];
  }
  return body;
}

/** Sub-millisecond timers (performance.now) give fractions; the schema takes integers. A negative stays negative (and invalid). */
function roundLatency(ms: number): number {
  return Number.isFinite(ms) ? Math.round(ms) : ms;
}

function copyOptional(input: CallOutcome, out: Record<string, unknown> | CallResultEvent): void {
  const o = out as Record<string, unknown>;
  if (input.userId) o['userId'] = input.userId;
  if (input.statusCode !== undefined) o['statusCode'] = input.statusCode;
  if (input.errorType) o['errorType'] = input.errorType;
  if (input.errorMessage) o['errorMessage'] = input.errorMessage.length > ERROR_MESSAGE_MAX ? truncateUtf16(input.errorMessage, ERROR_MESSAGE_MAX) : input.errorMessage;
  if (input.retryAfterMs !== undefined) o['retryAfterMs'] = Math.max(0, Math.round(input.retryAfterMs));
  if (input.usage && Object.keys(input.usage).length > 0) o['usage'] = input.usage;
}
