import { publishedStatsOf, windowStats, type BreakerSnapshot, type HealthRecord } from '@apg/core';
import { windowConfigOf, type InstanceHealth } from './instance-health';

/** What the aggregator takes back from a stored record (the stats are recomputed from the window). */
export interface StoredHealth {
  breaker: BreakerSnapshot;
  cooldownUntil: number | null;
}

/** The record published for `h` at `now`: breaker, live cool-down, window figures at write time. */
export function toHealthRecord(h: InstanceHealth, now: number): HealthRecord {
  const cooling = h.cooldownUntil !== null && h.cooldownUntil > now;
  if (!cooling) h.cooldownUntil = null;
  return {
    ...h.breaker,
    cooldownUntil: cooling ? h.cooldownUntil : null,
    stats: publishedStatsOf(windowStats(h.window, now, windowConfigOf(h.config))),
    updatedAt: now,
  };
}

const STATES = new Set(['CLOSED', 'OPEN', 'HALF_OPEN', 'FORCED_OPEN', 'FORCED_CLOSED']);
const num = (v: unknown, fallback: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);
const numOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/**
 * Reads a stored record (a `HealthRecord`, or a bare `BreakerSnapshot` written by an older
 * aggregator). Returns `null` for anything without a known state: such a field is treated as absent
 * and overwritten.
 */
export function parseStoredHealth(json: string | null | undefined): StoredHealth | null {
  if (!json) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return null;
  }
  if (typeof raw !== 'object' || raw === null) return null;
  const r = raw as Record<string, unknown>;
  if (typeof r['state'] !== 'string' || !STATES.has(r['state'])) return null;
  const since = num(r['since'], 0);
  return {
    breaker: {
      state: r['state'] as BreakerSnapshot['state'],
      degraded: r['degraded'] === true,
      openedAt: numOrNull(r['openedAt']),
      openUntil: numOrNull(r['openUntil']),
      reopenCount: num(r['reopenCount'], 0),
      probeSuccesses: num(r['probeSuccesses'], 0),
      probeFailures: num(r['probeFailures'], 0),
      since,
      reason: typeof r['reason'] === 'string' ? r['reason'] : '',
    },
    cooldownUntil: numOrNull(r['cooldownUntil']),
  };
}
