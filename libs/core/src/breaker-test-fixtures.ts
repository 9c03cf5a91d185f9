/** Shared fixtures of the breaker tests (not part of the public API). */
import { DEFAULT_BREAKER_CONFIG, initialBreaker } from './index.js';
import type { BreakerConfig, BreakerSnapshot, BreakerStats, CallOutcome } from './index.js';

export const C: BreakerConfig = { ...DEFAULT_BREAKER_CONFIG };
export const NOW = 100_000;

/** Frozen, so any mutation of an input snapshot throws (compiled code runs in strict mode). */
export const snap = (p: Partial<BreakerSnapshot> = {}): BreakerSnapshot =>
  Object.freeze({ ...initialBreaker(0), ...p });
export const open = (p: Partial<BreakerSnapshot> = {}): BreakerSnapshot =>
  snap({ state: 'OPEN', openedAt: NOW - 30_000, openUntil: NOW, ...p });
export const halfOpen = (p: Partial<BreakerSnapshot> = {}): BreakerSnapshot =>
  snap({ state: 'HALF_OPEN', openedAt: NOW - 30_000, ...p });
export const stats = (p: Partial<BreakerStats> = {}): BreakerStats => ({
  calls: 0,
  failureRate: 0,
  slowCallRate: 0,
  consecutiveFailures: 0,
  ...p,
});

export const OK: CallOutcome = { success: true };
export const FAIL: CallOutcome = { success: false };
/** Unsuccessful but not the instance's fault (the caller's own 4xx). */
export const NEUTRAL: CallOutcome = { success: false, countsAsFailure: false };
