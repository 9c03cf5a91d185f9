/**
 * Score maths of the data-driven strategies (SMART, LATENCY_FIRST, SUCCESS_RATE_FIRST, LEAST_COST), shared by
 * `choose` and the api's `explain` output so both always show the same numbers.
 *
 * SMART health score of a candidate, computed against the other candidates of its pool (one priority tier):
 *
 *   score = success^successWeight × latency^latencyWeight × load^loadWeight × cost^costWeight   ∈ (0, 1]
 *
 * with every component in (0, 1], 1 = as good as it gets:
 * - success: Laplace/Bayesian-smoothed success rate `(successes + α) / (calls + α + β)`;
 * - latency: `fastest / own` latency (EWMA, else window average) among the warm candidates of the pool;
 * - load:    `(fewest in-flight + 1) / (own in-flight + 1)` (Envoy least-request with active_request_bias 1);
 * - cost:    `(cheapest + floor) / (own + floor)`, floor = 10 % of the dearest, so an unpriced (0) instance
 *   does not drive every priced one to 0.
 * Cold candidates (`calls < coldMinCalls`) have too few calls to judge: their success and latency components
 * are the mean of their warm peers' (a neutral prior — neither herded onto nor starved), or 1 when the whole
 * pool is cold. Load and cost are facts, not estimates, so they always apply.
 *
 * The score is used as a *weight* (`weight × score`, then weighted random), never as "take the top": the top
 * scorer would get all the traffic and herd. With the defaults an instance at 50 % success next to one at 99 %
 * gets about 6 % of the traffic (0.5⁴ : 0.98⁴), and one twice as slow as its peer about a third.
 */
import type { Candidate, CandidateStats } from './candidate.js';

export interface SmartConfig {
  /**
   * Fewer calls than this in the window: the candidate is cold (neutral prior + exploration share).
   * @default 5
   */
  coldMinCalls: number;
  /**
   * Chance that a decision explores: picks a random cold candidate when the pool has both cold and warm ones.
   * Also used by LATENCY_FIRST and SUCCESS_RATE_FIRST, whose rankings only compare warm candidates.
   * @default 0.1
   */
  explorationRatio: number;
  /**
   * Prior successes α of the smoothed success rate.
   * @default 1
   */
  priorSuccesses: number;
  /**
   * Prior failures β of the smoothed success rate.
   * @default 1
   */
  priorFailures: number;
  /**
   * Exponent of the success component: the higher, the harder failures cut an instance's share.
   * @default 4
   */
  successWeight: number;
  /**
   * Exponent of the latency component (1: traffic share proportional to speed).
   * @default 1
   */
  latencyWeight: number;
  /**
   * Exponent of the load component.
   * @default 1
   */
  loadWeight: number;
  /**
   * Exponent of the cost component: below 1, price matters less than health.
   * @default 0.5
   */
  costWeight: number;
  /**
   * LATENCY_FIRST / SUCCESS_RATE_FIRST: scores within this relative distance of the best are tied and
   * shared round robin (no herding on noise).
   * @default 0.02
   */
  tieTolerance: number;
}

export const DEFAULT_SMART_CONFIG: Readonly<SmartConfig> = Object.freeze({
  coldMinCalls: 5,
  explorationRatio: 0.1,
  priorSuccesses: 1,
  priorFailures: 1,
  successWeight: 4,
  latencyWeight: 1,
  loadWeight: 1,
  costWeight: 0.5,
  tieTolerance: 0.02,
});

const VALID: { readonly [K in keyof SmartConfig]: (v: number) => boolean } = {
  coldMinCalls: (v) => Number.isInteger(v) && v >= 0,
  explorationRatio: (v) => v >= 0 && v <= 1,
  // Both priors > 0 keep the smoothed rate strictly inside (0, 1), so no score is ever exactly 0.
  priorSuccesses: (v) => v > 0,
  priorFailures: (v) => v > 0,
  successWeight: (v) => v >= 0,
  latencyWeight: (v) => v >= 0,
  loadWeight: (v) => v >= 0,
  costWeight: (v) => v >= 0,
  tieTolerance: (v) => v >= 0 && v < 1,
};

/**
 * Applies an override on top of `base`; invalid values and unknown keys are listed in `ignored`, never thrown
 * (same contract as `resolveBreakerConfig`).
 */
export function resolveSmartConfig(
  base: Readonly<SmartConfig>,
  override?: Partial<SmartConfig>,
): { config: SmartConfig; ignored: string[] } {
  const config: SmartConfig = { ...base };
  const ignored: string[] = [];
  for (const [key, value] of Object.entries(override ?? {}) as [string, unknown][]) {
    if (value === undefined) continue;
    const valid = Object.prototype.hasOwnProperty.call(VALID, key) ? VALID[key as keyof SmartConfig] : null;
    if (valid === null || typeof value !== 'number' || !Number.isFinite(value) || !valid(value)) {
      ignored.push(key);
      continue;
    }
    config[key as keyof SmartConfig] = value;
  }
  return { config, ignored };
}

/** Latencies below this count as this, so a 0 ms report cannot make every peer's ratio 0. */
export const LATENCY_FLOOR_MS = 1;
/** Share of the dearest cost added to every cost before comparing (see the module comment). */
export const COST_FLOOR_SHARE = 0.1;

/** The components of a SMART score, each in (0, 1]. */
export interface ScoreBreakdown {
  id: string;
  cold: boolean;
  success: number;
  latency: number;
  load: number;
  cost: number;
  /** `success^ws × latency^wl × load^wo × cost^wc`. */
  score: number;
}

export function isCold(c: Candidate, config: SmartConfig): boolean {
  return c.stats === null || c.stats.calls < config.coldMinCalls;
}

/** `(successes + α) / (calls + α + β)`; the prior mean α / (α + β) without stats. */
export function smoothedSuccessRate(stats: CandidateStats | null, config: SmartConfig): number {
  const calls = stats === null ? 0 : nonNegative(stats.calls);
  const failures = stats === null ? 0 : Math.min(nonNegative(stats.failures), calls);
  const { priorSuccesses: a, priorFailures: b } = config;
  return (calls - failures + a) / (calls + a + b);
}

/** The latency a strategy compares: the EWMA (recent), else the window average; `null` when unknown. */
export function latencyOf(stats: CandidateStats | null): number | null {
  if (stats === null) return null;
  for (const v of [stats.latencyEwmaMs, stats.avgLatencyMs]) {
    if (v !== null && Number.isFinite(v) && v >= 0) return Math.max(v, LATENCY_FLOOR_MS);
  }
  return null;
}

/** The candidate's weight, or 0 when it is not a usable number. */
export function weightOf(c: Candidate): number {
  return nonNegative(c.weight);
}

/**
 * The weights the weighted-random strategies draw by: each candidate's weight, except that an all-zero pool
 * counts as all-one (an operator who drained every instance still wants an answer, not an outage).
 */
export function effectiveWeights(pool: readonly Candidate[]): number[] {
  const weights = pool.map(weightOf);
  return weights.some((w) => w > 0) ? weights : weights.map(() => 1);
}

/** Cost component of each candidate against the pool: `(min + floor) / (own + floor)`, 1 when all are free. */
export function costScores(pool: readonly Candidate[]): number[] {
  const costs = pool.map((c) => nonNegative(c.costPerUnit));
  const max = maxOf(costs, 0);
  if (max === 0) return costs.map(() => 1);
  const floor = COST_FLOOR_SHARE * max;
  const min = minOf(costs, Infinity);
  return costs.map((cost) => (min + floor) / (cost + floor));
}

/**
 * Latency component of each candidate against the warm candidates of the pool (`fastest / own`), `null` for
 * a cold one or one without latency data.
 */
export function latencyScores(pool: readonly Candidate[], config: SmartConfig): (number | null)[] {
  const latencies = pool.map((c) => (isCold(c, config) ? null : latencyOf(c.stats)));
  const known = latencies.filter((v): v is number => v !== null);
  if (known.length === 0) return latencies.map(() => null);
  const best = minOf(known, Infinity);
  return latencies.map((v) => (v === null ? null : best / v));
}

/** SMART scores of a pool (one priority tier), in the pool's order. */
export function scoreCandidates(pool: readonly Candidate[], config: SmartConfig): ScoreBreakdown[] {
  const cold = pool.map((c) => isCold(c, config));
  const latency = latencyScores(pool, config);
  const cost = costScores(pool);
  const success = pool.map((c, i) => (cold[i] ? null : smoothedSuccessRate(c.stats, config)));
  const neutralSuccess = mean(success);
  const neutralLatency = mean(latency);
  const minInFlight = minOf(pool.map((c) => nonNegative(c.inFlight)), Infinity);
  return pool.map((c, i) => {
    const s = success[i] ?? neutralSuccess;
    const l = latency[i] ?? neutralLatency;
    const o = (minInFlight + 1) / (nonNegative(c.inFlight) + 1);
    const k = cost[i] ?? 1;
    const score =
      s ** config.successWeight * l ** config.latencyWeight * o ** config.loadWeight * k ** config.costWeight;
    return { id: c.id, cold: cold[i] ?? true, success: s, latency: l, load: o, cost: k, score };
  });
}

/** Mean of the known values; 1 (neutral) when none is known. */
function mean(values: readonly (number | null)[]): number {
  const known = values.filter((v): v is number => v !== null);
  return known.length === 0 ? 1 : known.reduce((a, b) => a + b, 0) / known.length;
}

/** `Math.max(floor, ...values)` without spreading: a large group must not hit the argument-count limit. */
export function maxOf(values: readonly number[], floor: number): number {
  let max = floor;
  for (const v of values) if (v > max) max = v;
  return max;
}

function minOf(values: readonly number[], ceiling: number): number {
  let min = ceiling;
  for (const v of values) if (v < min) min = v;
  return min;
}

function nonNegative(v: number): number {
  return Number.isFinite(v) && v > 0 ? v : 0;
}
