import type { BreakerConfig } from '@apg/core';

/**
 * Bounds on every number the aggregator puts in a Redis command. Stored configs are re-validated when read
 * (core `resolveBreakerConfig`), but a Redis command that fails on a value fails for the whole batch, every
 * tenant's instances with it (the 1e21 `windowMs` of issue 8 sent `PX 1e+21`). So whatever the config says,
 * nothing outside these bounds ever reaches Redis: a TTL is a whole number of ms in [1 ms, 1 day], a count
 * a whole number in [1, max].
 */
export const MAX_TTL_MS = 24 * 3600_000;

/** A TTL Redis accepts for `PX`/`PEXPIRE`: finite, whole, in [1, {@link MAX_TTL_MS}]; `fallback` for NaN. */
export function redisTtlMs(ms: number, fallback: number): number {
  const v = Number.isFinite(ms) ? ms : fallback;
  return Math.min(MAX_TTL_MS, Math.max(1, Math.round(v)));
}

/** Margin a window snapshot outlives its window by, so a restart within it still finds it. */
const WINDOW_TTL_MARGIN_MS = 60_000;

/** TTL of an instance's window snapshot: its window plus a minute, bounded. */
export const windowTtlMs = (config: Pick<BreakerConfig, 'windowMs'>): number =>
  redisTtlMs(config.windowMs + WINDOW_TTL_MARGIN_MS, 60_000 + WINDOW_TTL_MARGIN_MS);

/**
 * How long an applied eventId is remembered: the instance's window, but at least 10 min (client retries and
 * redeliveries after a rebalance come later than a short window) and at most an hour (a duplicate older
 * than that is older than any sane window and changes no breaker).
 */
export const MIN_DEDUPE_MS = 10 * 60_000;
export const MAX_DEDUPE_MS = 3600_000;
export const dedupeRetentionMs = (config: Pick<BreakerConfig, 'windowMs'>): number =>
  Math.min(MAX_DEDUPE_MS, Math.max(MIN_DEDUPE_MS, redisTtlMs(config.windowMs, MIN_DEDUPE_MS)));

/**
 * Most eventIds remembered per instance (~90 bytes each in Redis). Beyond it the oldest are forgotten first:
 * an instance taking more than this many reports within its retention could count a very late duplicate.
 */
export const MAX_APPLIED_EVENTS_PER_INSTANCE = 20_000;
