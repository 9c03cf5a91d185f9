/**
 * One instance's breaker as a whole: its sliding window, its state machine and its cool-down, fed one
 * reported outcome at a time by the error-class rules. The aggregator (the authority) and every api
 * replica (its local breaker, which decides while the aggregator's verdict is missing or stale) run
 * this same step, so both reach the same verdict from the same reports.
 */
import { force, onCallResult, onTick, type BreakerSnapshot, type Transition } from './breaker.js';
import type { BreakerConfig } from './breaker-config.js';
import { classifyOutcome, type ReportedOutcome } from './outcome-class.js';
import { createWindow, recordCall, resetWindow, windowMatchesConfig, windowStats, type CallUsage, type SlidingWindow, type WindowConfig } from './sliding-window.js';

/** The mutable state of one instance's breaker. */
export interface InstanceBreakerState {
  window: SlidingWindow;
  breaker: BreakerSnapshot;
  /** Rate-limited by the upstream until then (epoch ms); the max of every retry-after reported. */
  cooldownUntil: number | null;
}

/** One reported call, as both the event consumer and the api's report route see it. */
export interface ReportedCall extends ReportedOutcome {
  latencyMs: number;
  /** Whether the selection held a half-open probe permit; undefined when unknown (see `CallOutcome.probe`). */
  probe?: boolean | undefined;
  usage?: CallUsage | undefined;
}

export interface AppliedCall {
  transition: Transition | null;
  /** The call parked the instance (FORCED_OPEN by an error class such as AUTH_INVALID). */
  parked: boolean;
}

/**
 * Bucket width: a twelfth of the window, at least 1 s, and never wider than the window itself (a
 * per-instance `windowMs` under 1 s would otherwise be an invalid window config).
 */
export const windowConfigOf = (c: BreakerConfig): WindowConfig => ({
  windowMs: c.windowMs,
  bucketMs: Math.min(c.windowMs, Math.max(1000, Math.round(c.windowMs / 12))),
  slowCallMs: c.slowCallMs,
});

const isForced = (s: BreakerSnapshot): boolean => s.state === 'FORCED_OPEN' || s.state === 'FORCED_CLOSED';

/**
 * Applies one call by its error class (`classifyOutcome`): record it in the window at the caller's time
 * (never in the future) as a failure or not, extend the cool-down, then park the instance (auth
 * failures) or let the breaker read the window. **Mutates `s`.** The caller ticks first when time
 * matters (`tickInstanceBreaker`): a probe result must find the breaker HALF_OPEN, not OPEN.
 */
export function applyReportedCall(s: InstanceBreakerState, call: ReportedCall, now: number, config: BreakerConfig): AppliedCall {
  const wc = windowConfigOf(config);
  if (!windowMatchesConfig(s.window, wc)) s.window = createWindow(wc);
  const at = Math.min(call.callTimestamp, now);
  const outcome = classifyOutcome({ ...call, callTimestamp: at });
  // A 429, an exhausted quota or the caller's own 4xx is not a health signal: it only cools down.
  if (outcome.recordInWindow) {
    recordCall(s.window, { at, success: call.success, latencyMs: call.latencyMs, countsAsFailure: outcome.countsAsFailure, usage: call.usage }, wc);
  }
  if (outcome.cooldownUntil !== null) s.cooldownUntil = Math.max(s.cooldownUntil ?? 0, outcome.cooldownUntil);
  if (outcome.park !== null) return parkInstanceBreaker(s, outcome.park, now);

  const stats = windowStats(s.window, now, wc);
  const result = onCallResult(s.breaker, stats, { success: call.success, countsAsFailure: outcome.countsAsFailure, probe: call.probe }, now, config);
  s.breaker = result.snapshot;
  if (result.resetWindow) resetWindow(s.window, now);
  return { transition: result.transition, parked: false };
}

/**
 * What a reported call does to a breaker as time stands now: first the time-driven step (OPEN past its open
 * duration → HALF_OPEN: a probe's outcome can arrive before any tick, and applied to OPEN it would be
 * ignored), then the call (`applyReportedCall`). A call of unknown kind (`probe` undefined: a client that
 * sends no selectionId) made before the open duration ran out was selected before the breaker opened — a
 * straggler reported late, after a backlog or a slow call — so it is not taken as a probe. Returns the
 * tick's transition (time's doing) apart from the call's. **Mutates `s`.**
 */
export function applyReportedCallNow(s: InstanceBreakerState, call: ReportedCall, now: number, config: BreakerConfig): AppliedCall & { tick: Transition | null } {
  const openUntil = s.breaker.state === 'OPEN' ? s.breaker.openUntil : null;
  const straggler = call.probe === undefined && openUntil !== null && Math.min(call.callTimestamp, now) < openUntil;
  const tick = tickInstanceBreaker(s, now, config);
  return { tick, ...applyReportedCall(s, straggler ? { ...call, probe: false } : call, now, config) };
}

/**
 * Parks the instance: FORCED_OPEN with `reason`, until an admin acts. An instance an admin already
 * forced is left alone — FORCED_CLOSED included: the admin chose to route to it whatever it reports.
 * **Mutates `s`.**
 */
export function parkInstanceBreaker(s: InstanceBreakerState, reason: string, now: number): AppliedCall {
  if (isForced(s.breaker)) return { transition: null, parked: false };
  const result = force(s.breaker, 'FORCED_OPEN', now);
  s.breaker = { ...result.snapshot, reason };
  return { transition: result.transition && { ...result.transition, reason }, parked: true };
}

/** Time-driven transitions (OPEN → HALF_OPEN once the open duration has passed). **Mutates `s`.** */
export function tickInstanceBreaker(s: InstanceBreakerState, now: number, config: BreakerConfig): Transition | null {
  const result = onTick(s.breaker, now, config);
  s.breaker = result.snapshot;
  if (result.resetWindow) resetWindow(s.window, now);
  return result.transition;
}
