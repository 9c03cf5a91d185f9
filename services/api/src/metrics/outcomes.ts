import type { ErrorCode } from '@apg/contracts';
import { HttpError } from '../http/http-error';

/**
 * How a select ended, the `outcome` label of `apg_select_total`:
 * - `ok`: an instance of the requested apiIdentifier; `fallback`: one of a fallbackChain entry;
 *   `panic`: nothing was selectable and the project's panic mode served the least-bad instance;
 * - `no_instance`: no ACTIVE instance matches at all; `no_healthy`: instances exist but none is routable
 *   (circuit open, cooling down, over its limits), also for an exhausted fallback chain;
 * - `rate_limited` (429), `affinity_unavailable` (STRICT affinity, bound instance
 *   unusable), `invalid` (400: body or strategy), `error` (anything else: a bug or a dependency failure).
 */
export const SELECT_OUTCOMES = ['ok', 'fallback', 'panic', 'no_instance', 'no_healthy', 'rate_limited', 'affinity_unavailable', 'invalid', 'error'] as const;
export type SelectOutcome = (typeof SELECT_OUTCOMES)[number];

/** `strategy` label of a select whose strategy was never resolved (an invalid request). */
export const UNKNOWN_STRATEGY = 'unknown';

/** How a report ended, the `outcome` label of `apg_report_total` (from the response it got). */
export const REPORT_OUTCOMES = ['accepted', 'invalid', 'not_found', 'unavailable', 'rate_limited', 'unauthorized', 'error'] as const;
export type ReportOutcome = (typeof REPORT_OUTCOMES)[number];

/** A select refused for want of an instance, saying which kind of "none" it was (FALLBACK_EXHAUSTED can be either). */
export class NoInstanceError extends HttpError {
  constructor(errorCode: ErrorCode, message: string, readonly outcome: 'no_instance' | 'no_healthy') {
    super(errorCode, message);
  }
}

const SELECT_BY_CODE: Partial<Record<ErrorCode, SelectOutcome>> = {
  NO_AVAILABLE_INSTANCE: 'no_instance',
  NO_HEALTHY_INSTANCE: 'no_healthy',
  FALLBACK_EXHAUSTED: 'no_healthy',
  RATE_LIMITED: 'rate_limited',
  AFFINITY_UNAVAILABLE: 'affinity_unavailable',
};

/** The outcome of a select that threw `err`. */
export function selectOutcomeOfError(err: unknown): SelectOutcome {
  if (err instanceof NoInstanceError) return err.outcome;
  if (!(err instanceof HttpError)) return 'error';
  return SELECT_BY_CODE[err.errorCode] ?? (err.status >= 400 && err.status < 500 ? 'invalid' : 'error');
}

/** The outcome of a select that answered: served from a fallback entry, in panic, or plainly. */
export function selectOutcomeOf(answer: { fallbackUsed: boolean; panic?: boolean }): SelectOutcome {
  if (answer.panic) return 'panic';
  return answer.fallbackUsed ? 'fallback' : 'ok';
}

/**
 * The outcome of a report from the status it was answered with: 503 is `unavailable` (Kafka did not
 * take it: the ApgReportsRefused alert), 404 an instance that is not the tenant's, other 4xx the client's.
 */
export function reportOutcomeOf(status: number): ReportOutcome {
  if (status >= 200 && status < 300) return 'accepted';
  if (status === 503) return 'unavailable';
  if (status === 404) return 'not_found';
  if (status === 429) return 'rate_limited';
  if (status === 401 || status === 403) return 'unauthorized';
  if (status >= 400 && status < 500) return 'invalid';
  return 'error';
}
