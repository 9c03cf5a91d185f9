import type { CallResultEvent } from '@apg/contracts';

/**
 * Largest cost one call may report (the per-event cap of the contract). The raw column is
 * numeric(18, 8), which holds < 10^10 per row; a value it cannot hold would be refused by Postgres and
 * dead-lettered anyway, but refusing it here names the reason. Rollup sums are unconstrained numeric.
 */
export const MAX_COST_PER_CALL = 1_000_000_000;

export type GuardVerdict =
  | { ok: true; event: CallResultEvent }
  | { ok: false; reason: 'expired' | 'invalid_event'; detail: string };

const NUL = '\u0000';
const STRING_FIELDS = ['apiIdentifier', 'businessId', 'userId', 'selectionId', 'errorType', 'errorMessage'] as const;

/**
 * The ingestor's own checks on a decoded, admitted event, before it is written: what Postgres cannot
 * store must be dead-lettered (or repaired) here, because a write that fails on data is retried
 * forever. Strings may legally carry U+0000 in JSON, which a Postgres text column refuses: it becomes
 * U+FFFD. Events older than the retention horizon (see retention-plan.ts) are `expired`.
 */
export function guardEvent(event: CallResultEvent, horizonMs: number): GuardVerdict {
  if (event.callTimestamp < horizonMs) {
    return { ok: false, reason: 'expired', detail: `callTimestamp ${new Date(event.callTimestamp).toISOString()} is before the retention horizon ${new Date(horizonMs).toISOString()}` };
  }
  const cost = event.usage?.cost;
  if (cost !== undefined && cost > MAX_COST_PER_CALL) {
    return { ok: false, reason: 'invalid_event', detail: `usage.cost ${cost} exceeds ${MAX_COST_PER_CALL}` };
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
