/**
 * The routing strategies (ARCHITECTURE §7) as one pure function: `choose(strategy, candidates, ctx)`.
 *
 * The caller has already removed inactive and excluded instances. `choose` then, in this order:
 * 1. filters: breaker `no` (or OPEN / FORCED_OPEN whatever `routable` says) → `breaker_open`, cooling down after
 *    a 429 → `rate_limited`, over its rpm/tpm → `over_limit`, `probe` → `probe`. Probe candidates are never
 *    chosen here: the api takes an atomic probe permit for them on its own path;
 * 2. PRIORITY and SMART keep the best priority tier that still has an eligible candidate (→ `lower_tier`);
 * 3. degraded (slow) candidates drop out while a non-degraded one is left in the pool (→ `degraded`);
 * 4. the strategy picks from what is left.
 * Every random draw comes from `ctx.rand` and round robin from `ctx.rrCounter`, so a decision is reproducible.
 */
import type { Candidate } from './candidate.js';
import { clamp01, rrIndex, shares, uniformIndex, weightedIndex } from './draws.js';
import {
  costScores,
  effectiveWeights,
  isCold,
  latencyOf,
  latencyScores,
  maxOf,
  scoreCandidates,
  smoothedSuccessRate,
  type SmartConfig,
} from './scoring.js';

export type StrategyName =
  | 'ROUND_ROBIN'
  | 'WEIGHTED'
  | 'PRIORITY'
  | 'LATENCY_FIRST'
  | 'SUCCESS_RATE_FIRST'
  | 'LEAST_COST'
  | 'SMART';

export const STRATEGY_NAMES: readonly StrategyName[] = Object.freeze([
  'ROUND_ROBIN',
  'WEIGHTED',
  'PRIORITY',
  'LATENCY_FIRST',
  'SUCCESS_RATE_FIRST',
  'LEAST_COST',
  'SMART',
]);

export function isStrategyName(value: unknown): value is StrategyName {
  return typeof value === 'string' && (STRATEGY_NAMES as readonly string[]).includes(value);
}

/**
 * Why a candidate was not in the running. The first four make it ineligible; `lower_tier` and `degraded` are
 * soft: the candidate was eligible but a better-placed one existed.
 */
export type SkipReason = 'breaker_open' | 'rate_limited' | 'over_limit' | 'probe' | 'lower_tier' | 'degraded';

/** One candidate in the `explain` answer. */
export interface Explained {
  id: string;
  /** Passed the hard filters (breaker, cooldown, limits, probe). */
  eligible: boolean;
  skipReason?: SkipReason;
  /**
   * What the strategy ranks by, higher is better: WEIGHTED the weight; LATENCY_FIRST fastest/own latency;
   * SUCCESS_RATE_FIRST the smoothed success rate; LEAST_COST the cost component; SMART the health score.
   */
  score?: number;
  /** Chance this decision had of picking the candidate (WEIGHTED and SMART, exploration included). */
  probability?: number;
  /** SMART only: the score's components, see `scoring.ts`. */
  components?: { success: number; latency: number; load: number; cost: number; cold: boolean };
  /** PRIORITY and SMART: the candidate's priority. */
  tier?: number;
}

export interface ChooseContext {
  /** Uniform in [0, 1). */
  rand: () => number;
  /** Epoch ms, compared with `cooldownUntil`. */
  now: number;
  /** The group's round-robin counter; the caller increments it per decision. */
  rrCounter: number;
  config: Readonly<SmartConfig>;
}

export interface ChooseResult {
  /** `null` exactly when no candidate is eligible. */
  chosen: Candidate | null;
  /** Every input candidate: the pool best first (the chosen one at the head), then the skipped ones. */
  ranked: Explained[];
  /** The pick was an exploration of a cold candidate (for a metric; see `explorationRatio`). */
  explored: boolean;
}

interface Pick {
  index: number;
  /** Pool indexes, best first; the chosen one is moved to the head. */
  order: number[];
  explored: boolean;
  scores?: (number | null)[];
  probabilities?: number[];
  components?: NonNullable<Explained['components']>[];
}

type Strategy = (pool: readonly Candidate[], ctx: ChooseContext) => Pick;

export function choose(strategy: StrategyName, candidates: readonly Candidate[], ctx: ChooseContext): ChooseResult {
  // Sorted by id so round robin and every tie break are stable whatever order the registry returns.
  const entries = [...candidates].sort((a, b) => compareIds(a.id, b.id)).map((c) => ({ c, e: filter(c, ctx.now) }));
  const eligible = entries.filter((x) => x.e.eligible);
  let pool = eligible;
  if ((strategy === 'PRIORITY' || strategy === 'SMART') && eligible.length > 0) {
    const top = maxOf(eligible.map((x) => priorityOf(x.c)), -Infinity);
    for (const x of eligible) {
      x.e.tier = priorityOf(x.c);
      if (x.e.tier !== top) x.e.skipReason = 'lower_tier';
    }
    pool = eligible.filter((x) => x.e.tier === top);
  }
  if (pool.some((x) => !x.c.degraded)) {
    for (const x of pool) if (x.c.degraded) x.e.skipReason = 'degraded';
    pool = pool.filter((x) => !x.c.degraded);
  }

  const rest = [
    ...eligible.filter((x) => !pool.includes(x)).sort((a, b) => priorityOf(b.c) - priorityOf(a.c)),
    ...entries.filter((x) => !x.e.eligible),
  ].map((x) => x.e);
  if (pool.length === 0) return { chosen: null, ranked: rest, explored: false };

  const pick = STRATEGIES[strategy](
    pool.map((x) => x.c),
    ctx,
  );
  pool.forEach((x, i) => {
    const score = pick.scores?.[i];
    if (score !== undefined && score !== null) x.e.score = score;
    const probability = pick.probabilities?.[i];
    if (probability !== undefined) x.e.probability = probability;
    const components = pick.components?.[i];
    if (components !== undefined) x.e.components = components;
  });
  const chosen = pool[pick.index];
  if (chosen === undefined) throw new Error(`strategy ${strategy} picked ${pick.index} of ${pool.length}`);
  const ranked = pick.order.map((i) => pool[i]?.e).filter((e): e is Explained => e !== undefined);
  return { chosen: chosen.c, ranked: [...ranked, ...rest], explored: pick.explored };
}

const roundRobin: Strategy = (pool, ctx) => {
  const index = rrIndex(ctx.rrCounter, pool.length);
  // Rotation: the order in which the next decisions will pick.
  return { index, order: pool.map((_, i) => (index + i) % pool.length), explored: false };
};

const weighted: Strategy = (pool, ctx) => {
  const weights = effectiveWeights(pool);
  const index = weightedIndex(weights, ctx.rand());
  return { index, order: orderBy(weights, index), scores: weights, probabilities: shares(weights), explored: false };
};

const leastCost: Strategy = (pool, ctx) => {
  const scores = costScores(pool);
  // Prices are exact: only equal costs share.
  const index = bestWithRoundRobin(scores, ctx.rrCounter, 0);
  return { index, order: orderBy(scores, index), scores, explored: false };
};

/** Fastest warm candidate; cold ones (and ones without latency data) only through exploration. */
const latencyFirst: Strategy = (pool, ctx) => {
  const scores = latencyScores(pool, ctx.config);
  return exploitOrExplore(scores, (i) => scores[i] === null, ctx, (i) => latencyOf(pool[i]?.stats ?? null) === null);
};

/** Highest smoothed success rate among warm candidates; cold ones only through exploration. */
const successRateFirst: Strategy = (pool, ctx) => {
  const scores = pool.map((c) => smoothedSuccessRate(c.stats, ctx.config));
  const cold = pool.map((c) => isCold(c, ctx.config));
  return exploitOrExplore(scores, (i) => cold[i] === true, ctx, (i) => pool[i]?.stats === null);
};

/**
 * Weighted random by `weight × score` inside the tier (never "always the top scorer"), plus exploration: with
 * probability `explorationRatio` a uniformly random cold candidate, when the pool has cold and warm ones.
 */
const smart: Strategy = (pool, ctx) => {
  const breakdown = scoreCandidates(pool, ctx.config);
  const weights = effectiveWeights(pool);
  const selection = breakdown.map((b, i) => (weights[i] ?? 0) * b.score);
  const coldIdx = indexes(pool, (i) => breakdown[i]?.cold === true && (weights[i] ?? 0) > 0);
  const hasWarm = breakdown.some((b, i) => !b.cold && (weights[i] ?? 0) > 0);
  const ratio = coldIdx.length > 0 && hasWarm ? clamp01(ctx.config.explorationRatio) : 0;
  const probabilities = shares(selection).map((p, i) => (1 - ratio) * p + (coldIdx.includes(i) ? ratio / coldIdx.length : 0));
  let index: number;
  let explored = false;
  if (ratio > 0 && ctx.rand() < ratio) {
    index = coldIdx[uniformIndex(coldIdx.length, ctx.rand())] ?? 0;
    explored = true;
  } else {
    index = weightedIndex(selection, ctx.rand());
  }
  return {
    index,
    order: orderBy(probabilities, index),
    scores: breakdown.map((b) => b.score),
    probabilities,
    components: breakdown.map(({ success, latency, load, cost, cold }) => ({ success, latency, load, cost, cold })),
    explored,
  };
};

const STRATEGIES: { readonly [K in StrategyName]: Strategy } = {
  ROUND_ROBIN: roundRobin,
  WEIGHTED: weighted,
  // The pool is already the best tier: round robin inside it.
  PRIORITY: roundRobin,
  LATENCY_FIRST: latencyFirst,
  SUCCESS_RATE_FIRST: successRateFirst,
  LEAST_COST: leastCost,
  SMART: smart,
};

/** Hard filters, most definitive reason first (a probe candidate that is also cooling cannot be probed). */
function filter(c: Candidate, now: number): Explained {
  const open = c.breakerState === 'FORCED_OPEN' || (c.breakerState === 'OPEN' && c.routable !== 'probe');
  if (c.routable === 'no' || open) return { id: c.id, eligible: false, skipReason: 'breaker_open' };
  if (c.cooldownUntil !== null && c.cooldownUntil > now) return { id: c.id, eligible: false, skipReason: 'rate_limited' };
  if (c.overLimit) return { id: c.id, eligible: false, skipReason: 'over_limit' };
  // `routable` and `breakerState` come from the same snapshot, but a stale mix must fail safe: never 'yes'
  // for a breaker that only admits probes.
  if (c.routable === 'probe' || c.breakerState === 'HALF_OPEN' || c.breakerState === 'OPEN') {
    return { id: c.id, eligible: false, skipReason: 'probe' };
  }
  return { id: c.id, eligible: true };
}

/**
 * Exploitation (best score among the non-cold, ties by round robin) or, with probability `explorationRatio`
 * when both kinds exist, a uniformly random cold candidate. An all-cold pool is plain round robin.
 */
function exploitOrExplore(scores: (number | null)[], isColdAt: (i: number) => boolean, ctx: ChooseContext, isUnknownAt: (i: number) => boolean): Pick {
  const cold = indexes(scores, isColdAt);
  // Optimism for the unknown: a candidate with no data at all in the window (new, or idle so long its
  // figures aged out) ranks as good as the best warm one and shares the top by round robin until its
  // window says otherwise. Without it, an instance that once lost would never be tried again (herding).
  // Candidates with a few calls (cold, not unknown) are reached by bounded exploration only.
  const bestWarm = maxOf(scores.map((s, i) => (isColdAt(i) ? -Infinity : (s ?? -Infinity))), -Infinity);
  const warmScores = scores.map((s, i) => (!isColdAt(i) ? s : isUnknownAt(i) && Number.isFinite(bestWarm) ? bestWarm : null));
  let index: number;
  let explored = false;
  if (cold.length === scores.length) {
    index = rrIndex(ctx.rrCounter, scores.length);
  } else if (cold.length > 0 && ctx.rand() < clamp01(ctx.config.explorationRatio)) {
    index = cold[uniformIndex(cold.length, ctx.rand())] ?? 0;
    explored = true;
  } else {
    index = bestWithRoundRobin(warmScores, ctx.rrCounter, ctx.config.tieTolerance);
  }
  return { index, order: orderBy(warmScores, index), scores, explored };
}

/**
 * Index of the highest score. Scores within `tolerance` (relative) of the best count as tied and share
 * by round robin: two instances at 99.1 % and 99.3 % are equally good, and without the band the
 * smoothing (which rewards sample size) would herd all traffic onto whichever had more calls.
 */
function bestWithRoundRobin(scores: readonly (number | null)[], rrCounter: number, tolerance: number): number {
  const best = maxOf(scores.map((s) => s ?? -Infinity), -Infinity);
  const floor = best > 0 ? best * (1 - clamp01(tolerance)) : best;
  const tied = indexes(scores, (i) => scores[i] !== null && (scores[i] ?? -Infinity) >= floor);
  return tied[rrIndex(rrCounter, tied.length)] ?? 0;
}

/** Pool indexes: the chosen one first, then by score (descending, unknown last), ties in pool (id) order. */
function orderBy(scores: readonly (number | null)[], index: number): number[] {
  const key = (i: number): number => scores[i] ?? -Infinity;
  const others = indexes(scores, (i) => i !== index);
  others.sort((a, b) => key(b) - key(a) || a - b);
  return [index, ...others];
}

function indexes<T>(items: readonly T[], test: (i: number) => boolean): number[] {
  return items.map((_, i) => i).filter(test);
}

function priorityOf(c: Candidate): number {
  return Number.isFinite(c.priority) ? c.priority : 0;
}

/** Code-unit order: locale-independent, so every api replica sorts the same way. */
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
