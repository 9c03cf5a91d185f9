import {
  createWindow,
  initialBreaker,
  onCallResult,
  onTick,
  recordCall,
  resetWindow,
  windowMatchesConfig,
  windowStats,
  type BreakerConfig,
  type BreakerSnapshot,
  type SlidingWindow,
  type Transition,
  type WindowConfig,
} from '@apg/core';
import type { CallResultEvent } from '@apg/contracts';

/** Everything the aggregator knows about one instance: its window and its breaker. */
export interface InstanceHealth {
  instanceId: string;
  projectId: string;
  window: SlidingWindow;
  breaker: BreakerSnapshot;
}

export interface Change {
  transition: Transition | null;
  /** The snapshot must be written and announced (a transition or the degraded flag flipped). */
  announce: boolean;
}

export const windowConfigOf = (c: BreakerConfig): WindowConfig => ({
  windowMs: c.windowMs,
  bucketMs: Math.max(1000, Math.round(c.windowMs / 12)),
  slowCallMs: c.slowCallMs,
});

export function newInstanceHealth(instanceId: string, projectId: string, config: BreakerConfig, now: number): InstanceHealth {
  return { instanceId, projectId, window: createWindow(windowConfigOf(config)), breaker: initialBreaker(now) };
}

/**
 * Applies one call outcome: record it in the window (at the caller's time, never in the future),
 * then let the breaker read the window. Pure apart from mutating `h`.
 */
export function applyCall(h: InstanceHealth, e: CallResultEvent, now: number, config: BreakerConfig): Change {
  const wc = windowConfigOf(config);
  if (!windowMatchesConfig(h.window, wc)) h.window = createWindow(wc);
  const at = Math.min(e.callTimestamp, now);
  recordCall(h.window, { at, success: e.success, latencyMs: e.latencyMs }, wc);
  const stats = windowStats(h.window, now, wc);
  const result = onCallResult(h.breaker, stats, { success: e.success }, now, config);
  h.breaker = result.snapshot;
  if (result.resetWindow) resetWindow(h.window, now);
  return { transition: result.transition, announce: result.transition !== null || result.degradedChanged };
}

/** Time-driven transitions (OPEN → HALF_OPEN once the open duration has passed). */
export function applyTick(h: InstanceHealth, now: number, config: BreakerConfig): Change {
  const result = onTick(h.breaker, now, config);
  h.breaker = result.snapshot;
  if (result.resetWindow) resetWindow(h.window, now);
  return { transition: result.transition, announce: result.transition !== null || result.degradedChanged };
}
