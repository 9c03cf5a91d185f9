/**
 * What one reported outcome means for the instance's health, by its normalised error class
 * (architecture §7). A caller's own mistake is not the instance's fault; a rate limit with a
 * retry-after cools the instance down without counting against it; invalid credentials park it
 * until an admin acts; anything unknown is an ordinary failure.
 */
export interface OutcomeClass {
  /** Whether the call counts as a failure in the window and for the breaker. */
  countsAsFailure: boolean;
  /** Not selectable until this time (epoch ms), health untouched. */
  cooldownUntil: number | null;
  /** Take the instance out until an admin releases it (FORCED_OPEN with this reason). */
  park: string | null;
  /**
   * Whether the call belongs in the health window at all. A 429, an exhausted quota or a caller's own
   * 4xx says nothing about the instance's health or speed, so it is left out (not even as a success).
   */
  recordInWindow: boolean;
}

export interface ReportedOutcome {
  success: boolean;
  errorType?: string | undefined;
  statusCode?: number | undefined;
  retryAfterMs?: number | undefined;
  callTimestamp: number;
}

/** Cool-down used for a 429 without retry-after. @default 1000 */
export const DEFAULT_RATE_LIMIT_COOLDOWN_MS = 1000;
/** Cool-down used for an exhausted quota without retry-after. @default 300000 */
export const DEFAULT_QUOTA_COOLDOWN_MS = 300_000;

/** The normalised class of a failed call, from `errorType` first, else from the HTTP status. */
export function errorClassOf(o: ReportedOutcome): string {
  if (o.errorType) return o.errorType.toUpperCase();
  const s = o.statusCode;
  if (s === undefined) return 'UNKNOWN';
  if (s === 429) return 'RATE_LIMITED';
  if (s === 401 || s === 403) return 'AUTH_INVALID';
  if (s === 408 || s === 504) return 'TIMEOUT';
  if (s >= 500) return 'UPSTREAM_5XX';
  if (s >= 400) return 'CLIENT_4XX';
  return 'UNKNOWN';
}

export function classifyOutcome(o: ReportedOutcome): OutcomeClass {
  if (o.success) return { countsAsFailure: false, cooldownUntil: null, park: null, recordInWindow: true };
  const cls = errorClassOf(o);
  switch (cls) {
    case 'RATE_LIMITED':
      return { countsAsFailure: false, cooldownUntil: o.callTimestamp + (o.retryAfterMs ?? DEFAULT_RATE_LIMIT_COOLDOWN_MS), park: null, recordInWindow: false };
    case 'QUOTA_EXHAUSTED':
      return { countsAsFailure: false, cooldownUntil: o.callTimestamp + (o.retryAfterMs ?? DEFAULT_QUOTA_COOLDOWN_MS), park: null, recordInWindow: false };
    case 'CLIENT_4XX':
      return { countsAsFailure: false, cooldownUntil: null, park: null, recordInWindow: false };
    case 'AUTH_INVALID':
      return { countsAsFailure: true, cooldownUntil: null, park: 'parked: AUTH_INVALID (upstream rejected the credentials)', recordInWindow: true };
    default:
      return { countsAsFailure: true, cooldownUntil: null, park: null, recordInWindow: true };
  }
}
