/**
 * Property and distribution tests of `choose`, driven by a seeded PRNG so a failure names a reproducible seed.
 * The eligibility oracle below is written independently of `strategies.ts` on purpose.
 */
import { expect } from 'chai';
import { STRATEGY_NAMES, choose, latencyOf, smoothedSuccessRate, isCold } from './index.js';
import type { BreakerState, Candidate, ChooseResult, Routability, SmartConfig, StrategyName } from './index.js';
import { NOW, cand, ctx, mulberry32, shares, stats } from './routing-test-fixtures.js';

const int = (rand: () => number, min: number, max: number): number => min + Math.floor(rand() * (max - min + 1));
const pick = <T>(rand: () => number, items: readonly T[]): T => {
  const item = items[Math.floor(rand() * items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
};

const STATES: readonly BreakerState[] = ['CLOSED', 'OPEN', 'HALF_OPEN', 'FORCED_OPEN', 'FORCED_CLOSED'];
const ROUTABLE: Record<BreakerState, readonly Routability[]> = {
  CLOSED: ['yes'],
  FORCED_CLOSED: ['yes'],
  HALF_OPEN: ['probe'],
  OPEN: ['no', 'probe'],
  FORCED_OPEN: ['no'],
};

/** Mostly consistent snapshots, plus 15 % stale mixes of breakerState and routable. */
function randomCandidate(rand: () => number, id: string): Candidate {
  const breakerState = pick(rand, STATES);
  const routable = rand() < 0.15 ? pick(rand, ['yes', 'probe', 'no'] as const) : pick(rand, ROUTABLE[breakerState]);
  const calls = int(rand, 0, 200);
  return cand(id, {
    breakerState,
    routable,
    degraded: rand() < 0.2,
    priority: int(rand, -1, 2),
    weight: rand() < 0.2 ? 0 : rand() * 5,
    costPerUnit: rand() < 0.3 ? 0 : rand() * 3,
    stats: rand() < 0.2 ? null : stats(calls, int(rand, 0, calls), rand() < 0.1 ? null : int(rand, 0, 2_000)),
    inFlight: int(rand, 0, 5),
    cooldownUntil: rand() < 0.25 ? NOW + int(rand, -5_000, 5_000) : null,
    overLimit: rand() < 0.1,
  });
}

/** Independent oracle of the hard filters. */
function eligible(c: Candidate): boolean {
  return (
    c.routable === 'yes' &&
    (c.breakerState === 'CLOSED' || c.breakerState === 'FORCED_CLOSED') &&
    !(c.cooldownUntil !== null && c.cooldownUntil > NOW) &&
    !c.overLimit
  );
}

const SEEDS = Array.from({ length: 8 }, (_, i) => 4_242 + i * 7_919);
const SETS_PER_SEED = 250;
/** Thousands of decisions per test: generous, because the suite also runs on a busy CI machine. */
const SLOW_MS = 30_000;
const TIERED = new Set<StrategyName>(['PRIORITY', 'SMART']);

/** Checks one decision; throws a chai assertion error naming what broke. */
function check(strategy: StrategyName, r: ChooseResult, candidates: Candidate[], config: Readonly<SmartConfig>): void {
  const ok = candidates.filter(eligible);
  // (c) null exactly when nothing is eligible
  expect(r.chosen === null, 'null iff nothing eligible').to.equal(ok.length === 0);
  // every input explained once, with the oracle's eligibility
  expect(r.ranked.map((e) => e.id).sort()).to.deep.equal(candidates.map((c) => c.id).sort());
  for (const e of r.ranked) {
    const c = candidates.find((x) => x.id === e.id);
    expect(e.eligible, `eligible of ${e.id}`).to.equal(c !== undefined && eligible(c));
    if (!e.eligible) expect(['breaker_open', 'rate_limited', 'over_limit', 'probe']).to.include(e.skipReason);
  }
  const chosen = r.chosen;
  if (chosen === null) return;

  // (a) an input, and eligible; (b) spelled out
  expect(candidates).to.include(chosen);
  expect(eligible(chosen), 'chosen is eligible').to.equal(true);
  expect(['OPEN', 'FORCED_OPEN', 'HALF_OPEN']).to.not.include(chosen.breakerState);
  expect(chosen.routable).to.equal('yes');
  expect(chosen.overLimit).to.equal(false);
  if (chosen.cooldownUntil !== null) expect(chosen.cooldownUntil).to.be.at.most(NOW);
  expect(r.ranked[0]?.id, 'chosen ranked first').to.equal(chosen.id);

  // PRIORITY and SMART never leave the best tier that has an eligible candidate
  const top = Math.max(...ok.map((c) => c.priority));
  const pool = TIERED.has(strategy) ? ok.filter((c) => c.priority === top) : ok;
  if (TIERED.has(strategy)) expect(chosen.priority, 'tier').to.equal(top);
  // degraded only when its pool has nothing else
  if (chosen.degraded) expect(pool.every((c) => c.degraded), 'degraded only as a last resort').to.equal(true);
  const healthy = pool.some((c) => !c.degraded) ? pool.filter((c) => !c.degraded) : pool;

  if (strategy === 'WEIGHTED' || strategy === 'SMART') {
    expect(r.ranked.reduce((s, e) => s + (e.probability ?? 0), 0), 'probabilities sum').to.be.closeTo(1, 1e-9);
    expect(r.ranked[0]?.probability, 'chosen had a chance').to.be.above(0);
  }
  if (strategy === 'LEAST_COST') {
    expect(chosen.costPerUnit, 'cheapest').to.equal(Math.min(...healthy.map((c) => c.costPerUnit)));
  }
  if (strategy === 'LATENCY_FIRST' && !r.explored && latencyOf(chosen.stats) !== null) {
    const known = healthy.map((c) => (isCold(c, config) ? null : latencyOf(c.stats))).filter((v) => v !== null);
    // Within the tie band (relative tieTolerance of the best score) counts as fastest.
    if (known.length > 0) expect(latencyOf(chosen.stats)!, 'fastest').to.be.at.most(Math.min(...known) / (1 - config.tieTolerance) + 1e-9);
  }
  if (strategy === 'SUCCESS_RATE_FIRST' && !r.explored && chosen.stats !== null) {
    const rate = (c: Candidate): number => smoothedSuccessRate(c.stats, config);
    const warm = healthy.filter((c) => !isCold(c, config));
    if (warm.length > 0) expect(rate(chosen), 'best success rate').to.be.at.least(Math.max(...warm.map(rate)) * (1 - config.tieTolerance) - 1e-9);
  }
}

describe('choose properties (seeded random candidate sets)', function () {
  this.timeout(SLOW_MS);
  for (const strategy of STRATEGY_NAMES) {
    it(`${strategy}: chosen is an eligible input, null only when none is, every input explained`, () => {
      let explored = 0;
      let decisions = 0;
      for (const seed of SEEDS) {
        const rand = mulberry32(seed);
        for (let set = 0; set < SETS_PER_SEED; set++) {
          const candidates = Array.from({ length: int(rand, 0, 8) }, (_, i) => randomCandidate(rand, `i${int(rand, 0, 99)}-${i}`));
          const context = ctx({ rand, rrCounter: int(rand, -3, 1_000) });
          const r = choose(strategy, candidates, context);
          try {
            check(strategy, r, candidates, context.config);
          } catch (err) {
            throw new Error(`seed ${seed}, set ${set}: ${(err as Error).message}\n${JSON.stringify(candidates)}`);
          }
          if (r.chosen !== null) decisions++;
          if (r.explored) explored++;
        }
      }
      expect(decisions, 'the sets exercised real decisions').to.be.above(SEEDS.length * SETS_PER_SEED * 0.4);
      // Exploration never takes more than its bounded share of the decisions.
      expect(explored / decisions).to.be.at.most(0.1 + 0.02);
      if (!['LATENCY_FIRST', 'SUCCESS_RATE_FIRST', 'SMART'].includes(strategy)) expect(explored).to.equal(0);
    });
  }
});

describe('choose distributions (fixed seeds)', function () {
  this.timeout(SLOW_MS);
  const DRAWS = 20_000;
  const run = (strategy: StrategyName, candidates: Candidate[], seed: number, config = {}): Map<string, number> => {
    const rand = mulberry32(seed);
    return shares(DRAWS, (rrCounter) => choose(strategy, candidates, ctx({ rand, rrCounter, config })).chosen);
  };

  for (const seed of [1, 2, 3]) {
    it(`WEIGHTED 3:1 gives 75 % ± 3 % (seed ${seed})`, () => {
      const got = run('WEIGHTED', [cand('a', { weight: 3 }), cand('b', { weight: 1 })], seed);
      expect(got.get('a')).to.be.closeTo(0.75, 0.03);
    });

    it(`SMART: two equally healthy instances, neither gets more than 60 % (seed ${seed})`, () => {
      const got = run('SMART', [cand('a', { stats: stats(200, 2, 150) }), cand('b', { stats: stats(200, 2, 150) })], seed);
      expect(got.get('a')).to.be.at.most(0.6);
      expect(got.get('b')).to.be.at.most(0.6);
    });

    it(`SMART: 50 % vs 99 % success, the healthy one gets the clear majority, the weak one still > 1 % (seed ${seed})`, () => {
      const candidates = [cand('weak', { stats: stats(100, 50) }), cand('healthy', { stats: stats(100, 1) })];
      const got = run('SMART', candidates, seed);
      expect(got.get('healthy')).to.be.above(0.85);
      expect(got.get('weak')).to.be.above(0.01);
      // and it matches the probability `explain` shows
      const shown = choose('SMART', candidates, ctx()).ranked.find((e) => e.id === 'weak')?.probability ?? 0;
      expect(got.get('weak')).to.be.closeTo(shown, 0.01);
    });

    it(`SMART does not herd onto the slightly better of five (seed ${seed})`, () => {
      const candidates = [100, 105, 110, 120, 130].map((ms, i) => cand(`i${i}`, { stats: stats(300, i, ms) }));
      const got = run('SMART', candidates, seed);
      expect(Math.max(...got.values())).to.be.below(0.3);
      expect(Math.min(...got.values())).to.be.above(0.1);
    });

    it(`cold exploration stays within its ratio (seed ${seed})`, () => {
      const warm = [cand('a', { stats: stats(100, 0, 50) }), cand('b', { stats: stats(100, 0, 80) }), cand('c', { stats: stats(100, 0, 90) })];
      const cold = cand('new', { stats: stats(2, 0, 10) });
      // LATENCY_FIRST reaches a cold instance only by exploring: its share is the ratio.
      const latency = run('LATENCY_FIRST', [...warm, cold], seed);
      expect(latency.get('new')).to.be.within(0.1 - 0.01, 0.1 + 0.01);
      // SMART: exploration draws are bounded by the ratio; the rest scores the newcomer as an average peer.
      const rand = mulberry32(seed);
      let explored = 0;
      for (let i = 0; i < DRAWS; i++) if (choose('SMART', [...warm, cold], ctx({ rand, rrCounter: i, config: { explorationRatio: 0.2 } })).explored) explored++;
      expect(explored / DRAWS).to.be.within(0.2 - 0.015, 0.2 + 0.015);
      const smart = run('SMART', [...warm, cold], seed);
      const shown = choose('SMART', [...warm, cold], ctx()).ranked.find((e) => e.id === 'new')?.probability ?? 0;
      expect(smart.get('new')).to.be.closeTo(shown, 0.015);
      // Nothing cold, nothing explored.
      let none = 0;
      for (let i = 0; i < 2_000; i++) if (choose('SMART', warm, ctx({ rand, rrCounter: i })).explored) none++;
      expect(none).to.equal(0);
    });
  }

  it('PRIORITY fails over to the next tier only when the top tier has no eligible candidate', () => {
    const lower = [cand('l1', { priority: 1 }), cand('l2', { priority: 1 })];
    const withTop = run('PRIORITY', [cand('top', { priority: 5 }), cand('top-open', { priority: 5, breakerState: 'OPEN', routable: 'no' }), ...lower], 7);
    expect(withTop.get('top')).to.equal(1);
    const failover = run('PRIORITY', [cand('top', { priority: 5, overLimit: true }), cand('top-probe', { priority: 5, breakerState: 'HALF_OPEN', routable: 'probe' }), ...lower], 7);
    expect(failover.get('l1')).to.equal(0.5);
    expect(failover.get('l2')).to.equal(0.5);
    const smart = run('SMART', [cand('top', { priority: 5, stats: stats(100, 45, 3_000) }), ...lower], 7);
    expect(smart.get('top')).to.equal(1);
  });
});
