/**
 * The circuit-breaker state machine (ARCHITECTURE §6), as pure functions over a plain snapshot.
 *
 * No function mutates its input: each returns a new snapshot plus the transition to write to Redis and the
 * audit trail, or `null` when the state did not change. Time is always passed in as `now` (epoch ms).
 *
 * The aggregator drives it like this for each report:
 *   recordCall(window, call) → stats = windowStats(window, now) → r = onCallResult(snapshot, stats, call, now)
 *   → if (r.resetWindow) resetWindow(window, now) → persist r.snapshot when r.transition or r.degradedChanged.
 * and calls onTick on a timer so OPEN breakers move to HALF_OPEN without waiting for traffic.
 */
import { openDurationFor } from './breaker-config.js';
import type { BreakerConfig } from './breaker-config.js';
import type { WindowStats } from './sliding-window.js';

export type BreakerState = 'CLOSED' | 'OPEN' | 'HALF_OPEN' | 'FORCED_OPEN' | 'FORCED_CLOSED';

/** An admin action: pin a state, or hand the breaker back to the automatic rules. */
export type ForceMode = 'FORCED_OPEN' | 'FORCED_CLOSED' | 'AUTO';

/** `probe`: routable only with a probe permit (taken atomically by the selection side). */
export type Routability = 'yes' | 'probe' | 'no';

export interface BreakerSnapshot {
  state: BreakerState;
  /** Slow but working: only ever true while CLOSED. Not a state of its own, see `degradedChanged`. */
  degraded: boolean;
  /** When the breaker last opened (OPEN, HALF_OPEN, FORCED_OPEN); `null` otherwise. */
  openedAt: number | null;
  /** When an OPEN breaker may be probed; set exactly while OPEN. */
  openUntil: number | null;
  /** Re-opens in a row (HALF_OPEN → OPEN); the open duration is `openDurationMs * 2^reopenCount`, capped. */
  reopenCount: number;
  /** Probe outcomes of the current HALF_OPEN period; 0 in every other state. */
  probeSuccesses: number;
  probeFailures: number;
  /** Time of the last transition. */
  since: number;
  /** Reason of the last transition. */
  reason: string;
}

export interface Transition {
  from: BreakerState;
  to: BreakerState;
  at: number;
  /** Short and machine-friendly, e.g. `failure_rate 0.60 >= 0.50 over 12 calls`. */
  reason: string;
}

export interface BreakerResult {
  snapshot: BreakerSnapshot;
  /** `null` when the state did not change (the degraded flag is not a state, see `degradedChanged`). */
  transition: Transition | null;
  /** The degraded flag flipped: persist and announce like a transition, but it is not one. */
  degradedChanged: boolean;
  /**
   * The breaker (re-)entered CLOSED: the caller should `resetWindow(window, now)`, otherwise the failures
   * that opened it would re-open it on the next report.
   */
  resetWindow: boolean;
}

/** The part of {@link WindowStats} the breaker reads. */
export type BreakerStats = Pick<WindowStats, 'calls' | 'failureRate' | 'slowCallRate' | 'consecutiveFailures'>;

export interface CallOutcome {
  success: boolean;
  /** @default !success — same meaning as in `recordCall`. */
  countsAsFailure?: boolean;
  /**
   * Whether the call was admitted as a probe (its selection held a probe permit). When `false` in
   * HALF_OPEN, it is a late report of a call made before the breaker opened and does not count as a probe.
   * Leave undefined when unknown: every result in HALF_OPEN then counts as a probe.
   */
  probe?: boolean;
}

export function initialBreaker(now: number): BreakerSnapshot {
  return closedSnapshot(now, 'initial');
}

/**
 * Applies one call result. `stats` are the window stats *after* recording that call.
 *
 * - CLOSED: opens on `calls >= minCalls && failureRate >= failureRateThreshold`, else on
 *   `consecutiveFailures >= config.consecutiveFailures`; otherwise sets `degraded` to
 *   `calls >= minCalls && slowCallRate >= slowCallRateThreshold` (reported through `degradedChanged`).
 * - HALF_OPEN: each result is a probe. A failure re-opens at once with the doubled duration (so "the probes'
 *   failure rate is below the threshold" reduces to "all probes succeeded"); `halfOpenProbes` successes
 *   close. A result that does not count as a failure and is not a success consumes no probe.
 * - OPEN (late reports), FORCED_OPEN, FORCED_CLOSED: no change.
 */
export function onCallResult(
  snapshot: BreakerSnapshot,
  stats: BreakerStats,
  call: CallOutcome,
  now: number,
  config: BreakerConfig,
): BreakerResult {
  switch (snapshot.state) {
    case 'CLOSED':
      return onClosedResult(snapshot, stats, now, config);
    case 'HALF_OPEN':
      return onProbeResult(snapshot, call, now, config);
    case 'OPEN':
    case 'FORCED_OPEN':
    case 'FORCED_CLOSED':
      return noTransition(snapshot);
  }
}

/**
 * Moves an OPEN breaker to HALF_OPEN once `now >= openUntil`. Every other state is left alone.
 * `_config` is unused today (openUntil already holds the backoff); it keeps the transition functions alike.
 */
export function onTick(snapshot: BreakerSnapshot, now: number, _config: BreakerConfig): BreakerResult {
  // A missing openUntil would be a corrupt snapshot; probing is safer than staying open for ever.
  if (snapshot.state !== 'OPEN' || (snapshot.openUntil !== null && now < snapshot.openUntil)) {
    return noTransition(snapshot);
  }
  return move(snapshot, {
    ...snapshot,
    state: 'HALF_OPEN',
    openUntil: null,
    probeSuccesses: 0,
    probeFailures: 0,
    since: now,
    reason: 'open duration elapsed',
  });
}

/**
 * Admin action. `FORCED_OPEN` / `FORCED_CLOSED` pin the state until the next admin action; `AUTO` releases a
 * forced breaker to CLOSED with every counter reset. Returns `transition: null` when nothing changes
 * (forcing the current forced state, or `AUTO` on a breaker that is already automatic).
 */
export function force(snapshot: BreakerSnapshot, mode: ForceMode, now: number): BreakerResult {
  const forced = snapshot.state === 'FORCED_OPEN' || snapshot.state === 'FORCED_CLOSED';
  if (mode === 'AUTO') {
    return forced ? move(snapshot, closedSnapshot(now, 'released by admin')) : noTransition(snapshot);
  }
  if (snapshot.state === mode) return noTransition(snapshot);
  return move(snapshot, {
    state: mode,
    degraded: false,
    openedAt: mode === 'FORCED_OPEN' ? now : null,
    openUntil: null,
    reopenCount: 0,
    probeSuccesses: 0,
    probeFailures: 0,
    since: now,
    reason: 'forced by admin',
  });
}

/**
 * Whether selection may route to this instance. HALF_OPEN, and OPEN once `openUntil` has passed but before
 * the next tick moved it, answer `probe`: routable only with a free probe permit.
 */
export function isRoutable(snapshot: BreakerSnapshot, now: number): Routability {
  switch (snapshot.state) {
    case 'CLOSED':
    case 'FORCED_CLOSED':
      return 'yes';
    case 'HALF_OPEN':
      return 'probe';
    case 'OPEN':
      return snapshot.openUntil !== null && now < snapshot.openUntil ? 'no' : 'probe';
    case 'FORCED_OPEN':
      return 'no';
  }
}

/**
 * How long a half-open probe's slot stays held after its outcome (see ProbeSlots): until the breaker may
 * probe again when the outcome left it OPEN, else not at all.
 */
export function probeHoldMs(snapshot: Pick<BreakerSnapshot, 'state' | 'openUntil'>, now: number): number {
  return snapshot.state === 'OPEN' && snapshot.openUntil !== null ? Math.max(0, snapshot.openUntil - now) : 0;
}

function onClosedResult(
  snapshot: BreakerSnapshot,
  stats: BreakerStats,
  now: number,
  config: BreakerConfig,
): BreakerResult {
  let reason: string | null = null;
  if (stats.calls >= config.minCalls && stats.failureRate >= config.failureRateThreshold) {
    reason =
      `failure_rate ${stats.failureRate.toFixed(2)} >= ${config.failureRateThreshold.toFixed(2)}` +
      ` over ${stats.calls} calls`;
  } else if (stats.consecutiveFailures >= config.consecutiveFailures) {
    reason = `${stats.consecutiveFailures} consecutive failures`;
  }
  if (reason !== null) return move(snapshot, openSnapshot(snapshot, 0, now, reason, config));

  const degraded = stats.calls >= config.minCalls && stats.slowCallRate >= config.slowCallRateThreshold;
  if (degraded === snapshot.degraded) return noTransition(snapshot);
  return { snapshot: { ...snapshot, degraded }, transition: null, degradedChanged: true, resetWindow: false };
}

function onProbeResult(
  snapshot: BreakerSnapshot,
  call: CallOutcome,
  now: number,
  config: BreakerConfig,
): BreakerResult {
  if (call.probe === false) return noTransition(snapshot);
  const failed = call.countsAsFailure ?? !call.success;
  if (failed) {
    return move(snapshot, openSnapshot(snapshot, snapshot.reopenCount + 1, now, 'probe failed', config));
  }
  if (!call.success) return noTransition(snapshot);
  const probeSuccesses = snapshot.probeSuccesses + 1;
  if (probeSuccesses + snapshot.probeFailures < config.halfOpenProbes) {
    return noTransition({ ...snapshot, probeSuccesses });
  }
  return move(snapshot, closedSnapshot(now, `probes succeeded ${probeSuccesses}/${config.halfOpenProbes}`));
}

function openSnapshot(
  from: BreakerSnapshot,
  reopenCount: number,
  now: number,
  reason: string,
  config: BreakerConfig,
): BreakerSnapshot {
  return {
    ...from,
    state: 'OPEN',
    degraded: false,
    openedAt: now,
    openUntil: now + openDurationFor(reopenCount, config),
    reopenCount,
    probeSuccesses: 0,
    probeFailures: 0,
    since: now,
    reason,
  };
}

function closedSnapshot(now: number, reason: string): BreakerSnapshot {
  return {
    state: 'CLOSED',
    degraded: false,
    openedAt: null,
    openUntil: null,
    reopenCount: 0,
    probeSuccesses: 0,
    probeFailures: 0,
    since: now,
    reason,
  };
}

function noTransition(snapshot: BreakerSnapshot): BreakerResult {
  return { snapshot, transition: null, degradedChanged: false, resetWindow: false };
}

function move(from: BreakerSnapshot, to: BreakerSnapshot): BreakerResult {
  return {
    snapshot: to,
    transition: { from: from.state, to: to.state, at: to.since, reason: to.reason },
    degradedChanged: from.degraded !== to.degraded,
    resetWindow: to.state === 'CLOSED',
  };
}
