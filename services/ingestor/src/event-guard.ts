import type { CallResultEvent } from '@apg/contracts';

export type GuardVerdict =
  | { ok: true; event: CallResultEvent }
  | { ok: false; reason: 'expired'; detail: string };

const NUL = '\u0000';
const STRING_FIELDS = ['apiIdentifier', 'businessId', 'userId', 'selectionId', 'errorType', 'errorMessage'] as const;

/**
 * The ingestor's own checks on a decoded, admitted event, before it is written. What Postgres cannot
 * store is cheaper to repair or refuse here than to find by bisecting a failed write: strings may
 * legally carry U+0000 in JSON, which a Postgres text column refuses, so it becomes U+FFFD. Events older
 * than the oldest partition kept (see retention-plan.ts) are `expired`; intake's callTimestamp window
 * (now − RETENTION_DAYS) normally refuses them first, this guards the day boundary and a skewed clock.
 */
export function guardEvent(event: CallResultEvent, horizonMs: number): GuardVerdict {
  if (event.callTimestamp < horizonMs) {
    return { ok: false, reason: 'expired', detail: `callTimestamp ${new Date(event.callTimestamp).toISOString()} is before the retention horizon ${new Date(horizonMs).toISOString()}` };
  }
  let repaired: CallResultEvent | null = null;
  for (const field of STRING_FIELDS) {
    const value = event[field];
    if (value !== undefined && value.includes(NUL)) {
      repaired ??= { ...event };
      repaired[field] = value.replaceAll(NUL, '\uFFFD');
    }
  }
  return { ok: true, event: repaired ?? event };
}
