/**
 * Breaker thresholds: the defaults of ARCHITECTURE §6, per-instance overrides from `routingParams`, and the
 * open-duration backoff they imply.
 */

export interface BreakerConfig {
  /**
   * Length of the sliding window the stats are computed over.
   * @default 60000
   */
  windowMs: number;
  /**
   * Fewest calls in the window before the failure rate (or slow-call rate) is trusted.
   * @default 10
   */
  minCalls: number;
  /**
   * CLOSED → OPEN when the window's failure rate reaches this (0..1, inclusive).
   * @default 0.5
   */
  failureRateThreshold: number;
  /**
   * CLOSED → OPEN after this many failures in a row, whatever the window holds.
   * @default 5
   */
  consecutiveFailures: number;
  /**
   * How long the breaker stays OPEN the first time; doubled on each re-open in a row.
   * @default 30000
   */
  openDurationMs: number;
  /**
   * Cap of the doubled open duration.
   * @default 300000
   */
  maxOpenDurationMs: number;
  /**
   * Probes that must succeed in HALF_OPEN before closing.
   * @default 3
   */
  halfOpenProbes: number;
  /**
   * A call at least this slow counts as slow.
   * @default 5000
   */
  slowCallMs: number;
  /**
   * CLOSED instances are flagged degraded (still routable, ranked last) at this slow-call rate (0..1).
   * @default 0.8
   */
  slowCallRateThreshold: number;
}

export const DEFAULT_BREAKER_CONFIG: Readonly<BreakerConfig> = Object.freeze({
  windowMs: 60_000,
  minCalls: 10,
  failureRateThreshold: 0.5,
  consecutiveFailures: 5,
  openDurationMs: 30_000,
  maxOpenDurationMs: 300_000,
  halfOpenProbes: 3,
  slowCallMs: 5_000,
  slowCallRateThreshold: 0.8,
});

export interface ResolvedBreakerConfig {
  config: BreakerConfig;
  /** Override keys that were ignored: invalid values and unknown keys. */
  ignored: string[];
}

type ConfigKey = keyof BreakerConfig;

/** Accepted values per key. Rates are in (0, 1]: a 0 threshold would trip with no failure at all. */
const VALID: { readonly [K in ConfigKey]: (v: number) => boolean } = {
  windowMs: (v) => v > 0,
  minCalls: (v) => Number.isInteger(v) && v >= 1,
  failureRateThreshold: (v) => v > 0 && v <= 1,
  consecutiveFailures: (v) => Number.isInteger(v) && v >= 1,
  openDurationMs: (v) => v >= 0,
  maxOpenDurationMs: (v) => v >= 0,
  halfOpenProbes: (v) => Number.isInteger(v) && v >= 1,
  slowCallMs: (v) => v >= 0,
  slowCallRateThreshold: (v) => v > 0 && v <= 1,
};

function isConfigKey(key: string): key is ConfigKey {
  return Object.prototype.hasOwnProperty.call(VALID, key);
}

/**
 * Applies a per-instance override (from `routingParams`, so untrusted JSON at run time) on top of `base`.
 * Invalid values (not a finite number, negative, a rate outside 0..1, a non-integer count) and unknown keys
 * are ignored and listed, never thrown: one bad instance setting must not stop the aggregator. `undefined`
 * values are skipped silently.
 */
export function resolveBreakerConfig(
  base: Readonly<BreakerConfig>,
  override?: Partial<BreakerConfig>,
): ResolvedBreakerConfig {
  const config: BreakerConfig = { ...base };
  const ignored: string[] = [];
  if (override === undefined || override === null) return { config, ignored };
  for (const [key, value] of Object.entries(override) as [string, unknown][]) {
    if (value === undefined) continue;
    if (!isConfigKey(key) || typeof value !== 'number' || !Number.isFinite(value) || !VALID[key](value)) {
      ignored.push(key);
      continue;
    }
    config[key] = value;
  }
  return { config, ignored };
}

/** Open duration after `reopenCount` re-opens in a row: `openDurationMs * 2^reopenCount`, capped. */
export function openDurationFor(reopenCount: number, config: BreakerConfig): number {
  // The exponent is bounded so a long streak cannot reach Infinity (and 0 * Infinity = NaN).
  const factor = 2 ** Math.min(Math.max(reopenCount, 0), 40);
  return Math.min(config.openDurationMs * factor, config.maxOpenDurationMs);
}

/**
 * The effective breaker config of an instance: the global defaults overridden by its
 * `routingParams.breaker` object (client-written JSON, so anything unusable is ignored and listed).
 */
export function breakerConfigOf(base: Readonly<BreakerConfig>, routingParams: Readonly<Record<string, unknown>>): ResolvedBreakerConfig {
  const override = routingParams['breaker'];
  if (typeof override !== 'object' || override === null || Array.isArray(override)) {
    return { config: { ...base }, ignored: override === undefined || override === null ? [] : ['breaker'] };
  }
  return resolveBreakerConfig(base, override);
}
