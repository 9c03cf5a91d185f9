/**
 * Breaker thresholds: the defaults of ARCHITECTURE §6, per-instance overrides from `routingParams`, and the
 * open-duration backoff they imply.
 */
import { readNumericSetting, type NumericBound, type SettingProblem } from './numeric-setting.js';

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

const HOUR_MS = 3_600_000;

/**
 * Accepted override values per key, for the api's request schemas and for every reader of stored rows alike.
 * Rates are in (0, 1]: a 0 threshold would trip with no failure at all. Durations are whole milliseconds up to an
 * hour, and `openDurationMs` may not exceed `maxOpenDurationMs` when both are set (see {@link breakerOverrideProblems}).
 */
export const BREAKER_BOUNDS: { readonly [K in ConfigKey]: Readonly<NumericBound> } = Object.freeze({
  windowMs: { min: 1_000, max: HOUR_MS, integer: true, unit: 'ms' },
  minCalls: { min: 1, max: 10_000, integer: true },
  failureRateThreshold: { min: 0, max: 1, minExclusive: true },
  consecutiveFailures: { min: 1, max: 10_000, integer: true },
  openDurationMs: { min: 1_000, max: HOUR_MS, integer: true, unit: 'ms' },
  maxOpenDurationMs: { min: 1_000, max: HOUR_MS, integer: true, unit: 'ms' },
  halfOpenProbes: { min: 1, max: 100, integer: true },
  slowCallMs: { min: 1, max: HOUR_MS, integer: true, unit: 'ms' },
  slowCallRateThreshold: { min: 0, max: 1, minExclusive: true },
});

/** The keys `routingParams.breaker` may hold. */
export const BREAKER_KEYS = Object.freeze(Object.keys(BREAKER_BOUNDS) as ConfigKey[]);

function isConfigKey(key: string): key is ConfigKey {
  return Object.prototype.hasOwnProperty.call(BREAKER_BOUNDS, key);
}

/** The usable values of an override and what is wrong with the rest. */
function checkOverride(override: Readonly<Record<string, unknown>>): { valid: Partial<BreakerConfig>; problems: SettingProblem[] } {
  const problems: SettingProblem[] = [];
  const valid: Partial<BreakerConfig> = {};
  for (const [key, value] of Object.entries(override)) {
    if (value === undefined) continue;
    if (!isConfigKey(key)) {
      problems.push({ path: [key], message: `unknown breaker setting; known: ${BREAKER_KEYS.join(', ')}` });
      continue;
    }
    const read = readNumericSetting(value, BREAKER_BOUNDS[key], { strings: false });
    if (read.ok) valid[key] = read.value;
    else problems.push({ path: [key], message: read.problem });
  }
  if (valid.openDurationMs !== undefined && valid.maxOpenDurationMs !== undefined && valid.openDurationMs > valid.maxOpenDurationMs) {
    problems.push({ path: ['openDurationMs'], message: `must not exceed maxOpenDurationMs (${valid.maxOpenDurationMs} ms)` });
    delete valid.openDurationMs;
  }
  return { valid, problems };
}

/**
 * Everything wrong with a `routingParams.breaker` override, each with its key as path: unknown keys, values that
 * are not JSON numbers inside {@link BREAKER_BOUNDS}, and an `openDurationMs` above the `maxOpenDurationMs` next to
 * it. `undefined` values count as absent. The api answers 400 with these; the readers ignore the same keys.
 */
export function breakerOverrideProblems(override: Readonly<Record<string, unknown>>): SettingProblem[] {
  return checkOverride(override).problems;
}

/**
 * Applies a per-instance override (from `routingParams`, so untrusted JSON at run time, possibly stored before
 * the bounds existed) on top of `base`. Every key {@link breakerOverrideProblems} finds fault with is ignored and
 * listed (in the override's order), never thrown: one bad instance setting must not stop the aggregator.
 * `undefined` values are skipped silently.
 */
export function resolveBreakerConfig(
  base: Readonly<BreakerConfig>,
  override?: Readonly<Record<string, unknown>> | null,
): ResolvedBreakerConfig {
  const config: BreakerConfig = { ...base };
  if (override === undefined || override === null) return { config, ignored: [] };
  const { valid } = checkOverride(override);
  const ignored = Object.keys(override).filter((key) => override[key] !== undefined && !Object.prototype.hasOwnProperty.call(valid, key));
  return { config: Object.assign(config, valid), ignored };
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
  // Typed as a record, but it is a JSONB column: guard against null or an array anyway.
  const override = typeof routingParams === 'object' && routingParams !== null ? (routingParams as Record<string, unknown>)['breaker'] : undefined;
  if (typeof override !== 'object' || override === null || Array.isArray(override)) {
    return { config: { ...base }, ignored: override === undefined || override === null ? [] : ['breaker'] };
  }
  return resolveBreakerConfig(base, override as Record<string, unknown>);
}
