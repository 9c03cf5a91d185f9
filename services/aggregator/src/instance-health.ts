import {
  applyReportedCallNow,
  createWindow,
  initialBreaker,
  parkInstanceBreaker,
  resetWindow,
  tickInstanceBreaker,
  windowConfigOf,
  type BreakerConfig,
  type BreakerSnapshot,
  type SlidingWindow,
  type Transition,
} from '@apg/core';
import type { CallResultEvent } from '@apg/contracts';

/** Everything the aggregator knows about one instance: its window, breaker, cool-down and thresholds. */
export interface InstanceHealth {
  instanceId: string;
  projectId: string;
  /** The env defaults with the instance's `routingParams.breaker` applied. */
  config: BreakerConfig;
  window: SlidingWindow;
  breaker: BreakerSnapshot;
  /** Rate-limited by the upstream until then (epoch ms); the max of every retry-after reported. */
  cooldownUntil: number | null;
  /**
   * This process parked the instance (FORCED_OPEN) and has not written it yet. A forced record is
   * otherwise only refreshed over the very same stored record (see `WriteMode`), never over an
   * admin's later action.
   */
  pendingPark: boolean;
}

export interface Change {
  transition: Transition | null;
}

const isForced = (s: BreakerSnapshot): boolean => s.state === 'FORCED_OPEN' || s.state === 'FORCED_CLOSED';

/** Bucket width of an instance's window (shared with the api's local breakers, see core). */
export { windowConfigOf };

export function newInstanceHealth(instanceId: string, projectId: string, config: BreakerConfig, now: number): InstanceHealth {
  return {
    instanceId,
    projectId,
    config,
    window: createWindow(windowConfigOf(config)),
    breaker: initialBreaker(now),
    cooldownUntil: null,
    pendingPark: false,
  };
}

/**
 * Applies one call outcome by its error class (core `applyReportedCallNow`, the very step the api's local
 * breakers run). Pure apart from mutating `h`.
 */
export function applyCall(h: InstanceHealth, e: CallResultEvent, now: number): { tick: Transition | null; transition: Transition | null } {
  // Ticks first (see applyReportedCallNow): otherwise a probe's outcome arriving before the ticker moved the
  // breaker (a backlog applied after a takeover always does) would be ignored, and the next tick would open a
  // HALF_OPEN whose episode's probes were already spent: no replica could probe until its permits lapsed.
  const r = applyReportedCallNow(h, e, now, h.config);
  if (r.parked) h.pendingPark = true;
  return { tick: r.tick, transition: r.transition };
}

/**
 * Parks the instance: FORCED_OPEN with the class's reason, until an admin acts. An instance an admin
 * already forced is left alone — FORCED_CLOSED included: the admin chose to route to it whatever
 * it reports.
 */
export function park(h: InstanceHealth, reason: string, now: number): Change {
  const r = parkInstanceBreaker(h, reason, now);
  if (r.parked) h.pendingPark = true;
  return { transition: r.transition };
}

/** Time-driven transitions (OPEN → HALF_OPEN once the open duration has passed). */
export function applyTick(h: InstanceHealth, now: number): Change {
  return { transition: tickInstanceBreaker(h, now, h.config) };
}

/**
 * Takes over a stored record: on first sight (loaded from Redis), or instead of ours when Redis
 * refused our write (an admin forced or released the breaker meanwhile).
 *
 * A release (AUTO) stores a fresh CLOSED breaker with every counter reset, so a window holding
 * calls from before it is reset too, or those failures would re-open it at once. The aggregator's
 * own CLOSED records never trigger this: it resets the window when it closes (`resetAt === since`),
 * and the `initial` breaker of a new instance has nothing to forget.
 */
export function adoptStored(h: InstanceHealth, stored: { breaker: BreakerSnapshot; cooldownUntil: number | null }, now: number): void {
  const b = stored.breaker;
  const released = b.state === 'CLOSED' && b.reason !== 'initial' && (h.window.resetAt === null || h.window.resetAt < b.since);
  h.breaker = stored.breaker;
  h.pendingPark = false;
  if (stored.cooldownUntil !== null) h.cooldownUntil = Math.max(h.cooldownUntil ?? 0, stored.cooldownUntil);
  // From the release on: calls made after it (even if reported in this same batch) still count.
  if (released) resetWindow(h.window, Math.min(b.since, now));
}

/**
 * How a record may replace the stored one (enforced by the guarded write script):
 * - `normal`: unless the stored record is forced (an admin's action wins over the automatic rules);
 * - `keep`: a forced record we only refresh (stats): only over the same state with the same `since`;
 * - `absent`: only where nothing is stored (restoring a record we merely remember).
 */
export type WriteMode = 'normal' | 'keep' | 'absent';

export const writeModeOf = (h: InstanceHealth): WriteMode => (isForced(h.breaker) && !h.pendingPark ? 'keep' : 'normal');
