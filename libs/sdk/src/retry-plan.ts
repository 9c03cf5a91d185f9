import type { FailureClass } from './classify';
import type { CallFailureReason } from './errors';

/** Waits between attempts. The next attempt goes to another instance, so the wait is short by default. */
export interface BackoffOptions {
  /** First wait (before the second attempt), before jitter. @default 25 */
  initialMs?: number;
  /** Ceiling of any wait, before jitter. @default 1000 */
  maxMs?: number;
  /** Growth per attempt. @default 2 */
  multiplier?: number;
}

export const DEFAULT_BACKOFF: Required<BackoffOptions> = { initialMs: 25, maxMs: 1000, multiplier: 2 };

/**
 * The wait before retry number `retry` (1 = before the second attempt): "full jitter", a uniform draw in
 * [0, min(maxMs, initialMs × multiplier^(retry−1))], so many callers failing together do not retry in step.
 */
export function backoffDelayMs(retry: number, backoff: Required<BackoffOptions>, rand: () => number): number {
  const ceiling = Math.min(backoff.maxMs, backoff.initialMs * Math.pow(backoff.multiplier, Math.max(0, retry - 1)));
  return Math.floor(Math.max(0, ceiling) * rand());
}

export type NextStep = { retry: true; delayMs: number } | { retry: false; reason: CallFailureReason };

/**
 * After a failed attempt: try another instance, or stop and say why. A failure another instance would share
 * is final (`not_retryable`); so is an ambiguous failure of a call that is not idempotent (the upstream may
 * have acted on it: a payment might be charged twice). Then `maxAttempts`, then the deadline, which must
 * leave room for the wait.
 */
export function nextStep(a: {
  failure: FailureClass;
  /** Attempts made so far (1 after the first). */
  attempt: number;
  maxAttempts: number;
  /** Retrying the call cannot do harm twice (true, or an idempotency key was given). */
  idempotent: boolean;
  remainingMs: number;
  backoff: Required<BackoffOptions>;
  rand: () => number;
}): NextStep {
  if (!a.failure.retryable) return { retry: false, reason: 'not_retryable' };
  if (!a.idempotent && a.failure.processed !== 'no') return { retry: false, reason: 'not_retryable' };
  if (a.attempt >= a.maxAttempts) return { retry: false, reason: 'max_attempts' };
  if (a.remainingMs <= 0) return { retry: false, reason: 'deadline' };
  const delayMs = backoffDelayMs(a.attempt, a.backoff, a.rand);
  if (delayMs >= a.remainingMs) return { retry: false, reason: 'deadline' };
  return { retry: true, delayMs };
}
