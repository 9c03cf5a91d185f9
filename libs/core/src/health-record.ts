import type { BreakerSnapshot } from './breaker.js';
import type { WindowStats } from './sliding-window.js';

/** The window figures the api routes with (a summary of the aggregator's sliding window). */
export interface PublishedStats {
  calls: number;
  failures: number;
  slowCalls: number;
  /** failures / calls over the window; `null` with no calls. */
  failureRate: number | null;
  avgLatencyMs: number | null;
  latencyEwmaMs: number | null;
}

/** The published summary of a window's stats: what the aggregator writes and the api's local breakers show. */
export function publishedStatsOf(s: WindowStats): PublishedStats {
  return {
    calls: s.calls,
    failures: s.failures,
    slowCalls: s.slowCalls,
    failureRate: s.calls > 0 ? s.failureRate : null,
    avgLatencyMs: s.avgLatencyMs,
    latencyEwmaMs: s.latencyEwmaMs,
  };
}

/**
 * What the aggregator publishes per instance (Redis hash `<prefix>breaker-states`, field = instance id,
 * and the `<prefix>events:breaker` channel as `{records: {[id]: HealthRecord}}`), and what every api
 * replica keeps in process to decide with.
 */
export interface HealthRecord extends BreakerSnapshot {
  /** Rate-limited by the upstream (429 + retry-after): not selectable until then, health unaffected. */
  cooldownUntil: number | null;
  stats: PublishedStats | null;
  /** When the aggregator wrote this record. */
  updatedAt: number;
}
