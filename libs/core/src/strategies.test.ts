import { expect } from 'chai';
import { STRATEGY_NAMES, choose, isStrategyName } from './index.js';
import type { Candidate, ChooseContext, SkipReason, StrategyName } from './index.js';
import { NOW, cand, ctx, seq, stats } from './routing-test-fixtures.js';

interface Case {
  name: string;
  strategy: StrategyName;
  candidates: Candidate[];
  ctx?: Parameters<typeof ctx>[0];
  chosen: string | null;
  explored?: boolean;
  /** Expected skip reason per id (`null`: none); ids left out are not checked. */
  skip?: Record<string, SkipReason | null>;
  /** Expected ids of `ranked`, in order. */
  order?: string[];
}

const OPEN_NOW = { breakerState: 'OPEN', routable: 'no' } as const;
const PROBE = { breakerState: 'HALF_OPEN', routable: 'probe' } as const;
const lat = (ms: number, calls = 100, failures = 0): Partial<Candidate> => ({ stats: stats(calls, failures, ms) });

const cases: Case[] = [
  // --- hard filters (same for every strategy) ---
  { name: 'no candidates: null', strategy: 'ROUND_ROBIN', candidates: [], chosen: null, order: [] },
  { name: 'breaker no → breaker_open', strategy: 'ROUND_ROBIN', candidates: [cand('a', OPEN_NOW), cand('b')], chosen: 'b', skip: { a: 'breaker_open', b: null } },
  { name: 'FORCED_OPEN never chosen even if routable says yes', strategy: 'ROUND_ROBIN', candidates: [cand('a', { breakerState: 'FORCED_OPEN' }), cand('b')], chosen: 'b', skip: { a: 'breaker_open' } },
  { name: 'OPEN with a stale routable yes is still open', strategy: 'ROUND_ROBIN', candidates: [cand('a', { breakerState: 'OPEN' }), cand('b')], chosen: 'b', skip: { a: 'breaker_open' } },
  { name: 'OPEN past openUntil (probe) → probe', strategy: 'ROUND_ROBIN', candidates: [cand('a', { breakerState: 'OPEN', routable: 'probe' }), cand('b')], chosen: 'b', skip: { a: 'probe' } },
  { name: 'HALF_OPEN is for the probe path only', strategy: 'SMART', candidates: [cand('a', PROBE), cand('b')], chosen: 'b', skip: { a: 'probe' } },
  { name: 'HALF_OPEN with a stale routable yes is still probe-only', strategy: 'ROUND_ROBIN', candidates: [cand('a', { breakerState: 'HALF_OPEN' }), cand('b')], chosen: 'b', skip: { a: 'probe' } },
  { name: 'only probe candidates: null', strategy: 'SMART', candidates: [cand('a', PROBE), cand('b', PROBE)], chosen: null, order: ['a', 'b'] },
  { name: 'FORCED_CLOSED is routable', strategy: 'ROUND_ROBIN', candidates: [cand('a', { breakerState: 'FORCED_CLOSED' })], chosen: 'a' },
  { name: 'cooling down after a 429 → rate_limited', strategy: 'ROUND_ROBIN', candidates: [cand('a', { cooldownUntil: NOW + 1 }), cand('b')], chosen: 'b', skip: { a: 'rate_limited' } },
  { name: 'cooldown ending now is over', strategy: 'ROUND_ROBIN', candidates: [cand('a', { cooldownUntil: NOW }), cand('b')], chosen: 'a', skip: { a: null } },
  { name: 'over rpm/tpm → over_limit', strategy: 'WEIGHTED', candidates: [cand('a', { overLimit: true, weight: 100 }), cand('b')], chosen: 'b', skip: { a: 'over_limit' } },
  { name: 'a cooling probe candidate says rate_limited (it cannot be probed either)', strategy: 'ROUND_ROBIN', candidates: [cand('a', { ...PROBE, cooldownUntil: NOW + 5 })], chosen: null, skip: { a: 'rate_limited' } },
  { name: 'breaker wins over the other reasons', strategy: 'ROUND_ROBIN', candidates: [cand('a', { ...OPEN_NOW, cooldownUntil: NOW + 5, overLimit: true })], chosen: null, skip: { a: 'breaker_open' } },
  { name: 'everything filtered: null, every candidate explained', strategy: 'LEAST_COST', candidates: [cand('c', { overLimit: true }), cand('a', OPEN_NOW), cand('b', PROBE)], chosen: null, order: ['a', 'b', 'c'] },

  // --- ROUND_ROBIN: eligible sorted by id, [rrCounter % n] ---
  { name: 'RR counter 0: first id', strategy: 'ROUND_ROBIN', candidates: [cand('c'), cand('a'), cand('b')], chosen: 'a', order: ['a', 'b', 'c'] },
  { name: 'RR counter 1', strategy: 'ROUND_ROBIN', candidates: [cand('c'), cand('a'), cand('b')], ctx: { rrCounter: 1 }, chosen: 'b', order: ['b', 'c', 'a'] },
  { name: 'RR counter wraps', strategy: 'ROUND_ROBIN', candidates: [cand('c'), cand('a'), cand('b')], ctx: { rrCounter: 5 }, chosen: 'c' },
  { name: 'RR negative counter', strategy: 'ROUND_ROBIN', candidates: [cand('c'), cand('a'), cand('b')], ctx: { rrCounter: -1 }, chosen: 'c' },
  { name: 'RR NaN counter counts as 0', strategy: 'ROUND_ROBIN', candidates: [cand('b'), cand('a')], ctx: { rrCounter: Number.NaN }, chosen: 'a' },
  { name: 'RR counts over eligible ones only', strategy: 'ROUND_ROBIN', candidates: [cand('a'), cand('b', OPEN_NOW), cand('c')], ctx: { rrCounter: 1 }, chosen: 'c', order: ['c', 'a', 'b'] },
  { name: 'RR ids sort by code unit, not locale', strategy: 'ROUND_ROBIN', candidates: [cand('b'), cand('B'), cand('a')], chosen: 'B' },
  { name: 'RR skips degraded while a healthy one is left', strategy: 'ROUND_ROBIN', candidates: [cand('a', { degraded: true }), cand('b'), cand('c')], chosen: 'b', skip: { a: 'degraded' }, order: ['b', 'c', 'a'] },
  { name: 'RR all degraded: still served', strategy: 'ROUND_ROBIN', candidates: [cand('a', { degraded: true }), cand('b', { degraded: true })], ctx: { rrCounter: 1 }, chosen: 'b', skip: { a: null, b: null } },

  // --- WEIGHTED: weighted random by weight ---
  { name: 'WEIGHTED 3:1, draw inside the first 3/4', strategy: 'WEIGHTED', candidates: [cand('a', { weight: 3 }), cand('b', { weight: 1 })], ctx: { rand: seq(0.7499) }, chosen: 'a' },
  { name: 'WEIGHTED 3:1, draw at 3/4', strategy: 'WEIGHTED', candidates: [cand('a', { weight: 3 }), cand('b', { weight: 1 })], ctx: { rand: seq(0.75) }, chosen: 'b', order: ['b', 'a'] },
  { name: 'WEIGHTED weight 0 is never drawn', strategy: 'WEIGHTED', candidates: [cand('a', { weight: 0 }), cand('b', { weight: 1 })], ctx: { rand: seq(0) }, chosen: 'b' },
  { name: 'WEIGHTED all zero: uniform', strategy: 'WEIGHTED', candidates: [cand('a', { weight: 0 }), cand('b', { weight: 0 })], ctx: { rand: seq(0.5) }, chosen: 'b' },
  { name: 'WEIGHTED rand just under 1 picks the last positive weight', strategy: 'WEIGHTED', candidates: [cand('a', { weight: 1 }), cand('b', { weight: 1 }), cand('c', { weight: 0 })], ctx: { rand: seq(0.9999999999999999) }, chosen: 'b' },
  { name: 'WEIGHTED out-of-range rand is clamped', strategy: 'WEIGHTED', candidates: [cand('a'), cand('b')], ctx: { rand: seq(7) }, chosen: 'b' },
  { name: 'WEIGHTED degraded heavy one loses to a light healthy one', strategy: 'WEIGHTED', candidates: [cand('a', { weight: 99, degraded: true }), cand('b', { weight: 1 })], ctx: { rand: seq(0) }, chosen: 'b', skip: { a: 'degraded' } },

  // --- PRIORITY: best tier with an eligible candidate, round robin inside ---
  { name: 'PRIORITY top tier, RR inside', strategy: 'PRIORITY', candidates: [cand('a', { priority: 10 }), cand('b', { priority: 10 }), cand('c', { priority: 5 })], ctx: { rrCounter: 1 }, chosen: 'b', skip: { c: 'lower_tier' }, order: ['b', 'a', 'c'] },
  { name: 'PRIORITY fails over when the top tier is all ineligible', strategy: 'PRIORITY', candidates: [cand('a', { priority: 10, ...OPEN_NOW }), cand('b', { priority: 10, overLimit: true }), cand('c', { priority: 5 }), cand('d', { priority: 1 })], chosen: 'c', skip: { a: 'breaker_open', b: 'over_limit', c: null, d: 'lower_tier' }, order: ['c', 'd', 'a', 'b'] },
  { name: 'PRIORITY one eligible top candidate keeps all traffic', strategy: 'PRIORITY', candidates: [cand('a', { priority: 10 }), cand('b', { priority: 10, ...PROBE }), cand('c', { priority: 5 })], ctx: { rrCounter: 1 }, chosen: 'a' },
  { name: 'PRIORITY degraded top tier still beats a lower tier', strategy: 'PRIORITY', candidates: [cand('a', { priority: 10, degraded: true }), cand('b', { priority: 5 })], chosen: 'a', skip: { b: 'lower_tier' } },
  { name: 'PRIORITY healthy beats degraded inside the tier', strategy: 'PRIORITY', candidates: [cand('a', { priority: 10, degraded: true }), cand('b', { priority: 10 }), cand('c', { priority: 5 })], chosen: 'b', skip: { a: 'degraded', c: 'lower_tier' } },
  { name: 'PRIORITY negative priorities, higher first', strategy: 'PRIORITY', candidates: [cand('a', { priority: -5 }), cand('b', { priority: -1 })], chosen: 'b' },
  { name: 'PRIORITY all default 0: plain RR', strategy: 'PRIORITY', candidates: [cand('a'), cand('b')], ctx: { rrCounter: 3 }, chosen: 'b' },

  // --- LATENCY_FIRST: lowest EWMA (else average); cold via exploration ---
  { name: 'LATENCY lowest wins', strategy: 'LATENCY_FIRST', candidates: [cand('a', lat(200)), cand('b', lat(100)), cand('c', lat(300))], chosen: 'b', order: ['b', 'a', 'c'] },
  { name: 'LATENCY EWMA before the average', strategy: 'LATENCY_FIRST', candidates: [cand('a', { stats: { ...stats(100), latencyEwmaMs: 100, avgLatencyMs: 500 } }), cand('b', { stats: { ...stats(100), latencyEwmaMs: 150, avgLatencyMs: 50 } })], chosen: 'a' },
  { name: 'LATENCY average when no EWMA', strategy: 'LATENCY_FIRST', candidates: [cand('a', { stats: { ...stats(100), latencyEwmaMs: null, avgLatencyMs: 90 } }), cand('b', lat(100))], chosen: 'a' },
  { name: 'LATENCY ties share by RR', strategy: 'LATENCY_FIRST', candidates: [cand('a', lat(100)), cand('b', lat(100)), cand('c', lat(50, 100, 0)), cand('d', lat(50))], ctx: { rrCounter: 1 }, chosen: 'd' },
  { name: 'LATENCY cold explored under the ratio', strategy: 'LATENCY_FIRST', candidates: [cand('a', lat(100)), cand('b', lat(10, 2))], ctx: { rand: seq(0.05, 0) }, chosen: 'b', explored: true },
  { name: 'LATENCY cold not explored above the ratio (its 10 ms does not count)', strategy: 'LATENCY_FIRST', candidates: [cand('a', lat(100)), cand('b', lat(10, 2))], ctx: { rand: seq(0.5) }, chosen: 'a', explored: false },
  { name: 'LATENCY warm without latency data is explored like a cold one', strategy: 'LATENCY_FIRST', candidates: [cand('a', lat(100)), cand('b', { stats: stats(50, 0, null) })], ctx: { rand: seq(0.5) }, chosen: 'a' },
  { name: 'LATENCY all cold: RR', strategy: 'LATENCY_FIRST', candidates: [cand('a', { stats: null }), cand('b', { stats: null })], ctx: { rrCounter: 1, rand: seq(0) }, chosen: 'b', explored: false },
  { name: 'LATENCY ratio 0 never explores', strategy: 'LATENCY_FIRST', candidates: [cand('a', lat(100)), cand('b', { stats: null })], ctx: { rand: seq(0), config: { explorationRatio: 0 } }, chosen: 'a' },
  { name: 'LATENCY degraded fastest skipped', strategy: 'LATENCY_FIRST', candidates: [cand('a', { ...lat(10), degraded: true }), cand('b', lat(100))], chosen: 'b', skip: { a: 'degraded' } },

  // --- SUCCESS_RATE_FIRST: highest smoothed rate ---
  { name: 'SR highest smoothed rate', strategy: 'SUCCESS_RATE_FIRST', candidates: [cand('a', { stats: stats(100, 10) }), cand('b', { stats: stats(100, 5) })], chosen: 'b' },
  { name: 'SR smoothing: 95/100 beats 10/10', strategy: 'SUCCESS_RATE_FIRST', candidates: [cand('a', { stats: stats(10) }), cand('b', { stats: stats(100, 5) })], chosen: 'b' },
  { name: 'SR ties share by RR', strategy: 'SUCCESS_RATE_FIRST', candidates: [cand('a', { stats: stats(100) }), cand('b', { stats: stats(100) })], ctx: { rrCounter: 3 }, chosen: 'b' },
  { name: 'SR a cold 3/3 is not ranked over warm ones', strategy: 'SUCCESS_RATE_FIRST', candidates: [cand('a', { stats: stats(100, 30) }), cand('b', { stats: stats(3) })], ctx: { rand: seq(0.5) }, chosen: 'a' },
  { name: 'SR cold explored', strategy: 'SUCCESS_RATE_FIRST', candidates: [cand('a', { stats: stats(100) }), cand('b', { stats: null })], ctx: { rand: seq(0.01, 0.3) }, chosen: 'b', explored: true },

  // --- LEAST_COST: lowest costPerUnit, ties RR ---
  { name: 'COST cheapest wins', strategy: 'LEAST_COST', candidates: [cand('a', { costPerUnit: 3 }), cand('b', { costPerUnit: 1 }), cand('c', { costPerUnit: 2 })], chosen: 'b', order: ['b', 'c', 'a'] },
  { name: 'COST ties share by RR', strategy: 'LEAST_COST', candidates: [cand('a', { costPerUnit: 1 }), cand('b', { costPerUnit: 1 }), cand('c', { costPerUnit: 2 })], ctx: { rrCounter: 1 }, chosen: 'b' },
  { name: 'COST unpriced (0) is cheapest', strategy: 'LEAST_COST', candidates: [cand('a', { costPerUnit: 1 }), cand('b')], chosen: 'b' },
  { name: 'COST cheapest but rate-limited is skipped', strategy: 'LEAST_COST', candidates: [cand('a', { costPerUnit: 1, cooldownUntil: NOW + 1 }), cand('b', { costPerUnit: 2 })], chosen: 'b' },

  // --- SMART: best tier, weighted random by weight × score, exploration ---
  { name: 'SMART keeps the best tier even if a lower tier is healthier', strategy: 'SMART', candidates: [cand('a', { priority: 1, stats: stats(100, 40) }), cand('b', { priority: 0 })], ctx: { rand: seq(0.99) }, chosen: 'a', skip: { b: 'lower_tier' } },
  { name: 'SMART falls to the next tier when the top one is all open', strategy: 'SMART', candidates: [cand('a', { priority: 1, ...OPEN_NOW }), cand('b', { priority: 0 })], chosen: 'b' },
  { name: 'SMART low draw: the better score (ranked first)', strategy: 'SMART', candidates: [cand('a', { stats: stats(100, 50) }), cand('b', { stats: stats(100, 1) })], ctx: { rand: seq(0) }, chosen: 'a', order: ['a', 'b'] },
  { name: 'SMART high draw lands on the healthy one', strategy: 'SMART', candidates: [cand('a', { stats: stats(100, 50) }), cand('b', { stats: stats(100, 1) })], ctx: { rand: seq(0.5) }, chosen: 'b', order: ['b', 'a'] },
  { name: 'SMART weight 0 drains', strategy: 'SMART', candidates: [cand('a', { weight: 0 }), cand('b', { stats: stats(100, 40) })], ctx: { rand: seq(0) }, chosen: 'b' },
  { name: 'SMART explores a cold one under the ratio', strategy: 'SMART', candidates: [cand('a'), cand('b'), cand('c', { stats: null })], ctx: { rand: seq(0.09, 0.99) }, chosen: 'c', explored: true },
  { name: 'SMART a drained cold one is not explored', strategy: 'SMART', candidates: [cand('a'), cand('c', { stats: null, weight: 0 })], ctx: { rand: seq(0.01) }, chosen: 'a', explored: false },
  { name: 'SMART degraded only when the tier has nothing else', strategy: 'SMART', candidates: [cand('a', { degraded: true, weight: 1000 }), cand('b', { stats: stats(100, 40) })], ctx: { rand: seq(0) }, chosen: 'b', skip: { a: 'degraded' } },
];

describe('choose', () => {
  it('STRATEGY_NAMES lists every strategy once; isStrategyName guards request input', () => {
    expect(STRATEGY_NAMES).to.deep.equal(['ROUND_ROBIN', 'WEIGHTED', 'PRIORITY', 'LATENCY_FIRST', 'SUCCESS_RATE_FIRST', 'LEAST_COST', 'SMART']);
    expect(Object.isFrozen(STRATEGY_NAMES)).to.equal(true);
    expect(isStrategyName('SMART')).to.equal(true);
    expect(isStrategyName('smart')).to.equal(false);
    expect(isStrategyName(undefined)).to.equal(false);
  });

  for (const c of cases) {
    it(`${c.strategy}: ${c.name}`, () => {
      const r = choose(c.strategy, Object.freeze([...c.candidates]), ctx(c.ctx));
      expect(r.chosen?.id ?? null).to.equal(c.chosen);
      if (r.chosen !== null) expect(c.candidates).to.include(r.chosen);
      expect(r.ranked.map((e) => e.id).sort()).to.deep.equal(c.candidates.map((x) => x.id).sort());
      if (r.chosen !== null) expect(r.ranked[0]?.id).to.equal(r.chosen.id);
      if (c.explored !== undefined) expect(r.explored).to.equal(c.explored);
      if (c.order) expect(r.ranked.map((e) => e.id)).to.deep.equal(c.order);
      for (const [id, reason] of Object.entries(c.skip ?? {})) {
        expect(r.ranked.find((e) => e.id === id)?.skipReason ?? null, `skipReason of ${id}`).to.equal(reason);
      }
    });
  }

  describe('explain', () => {
    it('eligible is false exactly for the hard filters; tier only on tiered strategies', () => {
      const candidates = [cand('a', OPEN_NOW), cand('b', { priority: 2 }), cand('c', { priority: 1 }), cand('d', PROBE)];
      const tiered = choose('PRIORITY', candidates, ctx()).ranked;
      expect(tiered).to.deep.equal([
        { id: 'b', eligible: true, tier: 2 },
        { id: 'c', eligible: true, tier: 1, skipReason: 'lower_tier' },
        { id: 'a', eligible: false, skipReason: 'breaker_open' },
        { id: 'd', eligible: false, skipReason: 'probe' },
      ]);
      expect(choose('ROUND_ROBIN', candidates, ctx()).ranked.every((e) => e.tier === undefined)).to.equal(true);
    });

    it('SMART gives score, components and probabilities that sum to 1 (exploration included)', () => {
      const candidates = [cand('a', { stats: stats(100, 10, 200) }), cand('b', { stats: stats(100, 0, 100), inFlight: 3 }), cand('c', { stats: null })];
      const r = choose('SMART', candidates, ctx({ rand: seq(0.5) }));
      const total = r.ranked.reduce((s, e) => s + (e.probability ?? 0), 0);
      expect(total).to.be.closeTo(1, 1e-12);
      const c = r.ranked.find((e) => e.id === 'c');
      expect(c?.components?.cold).to.equal(true);
      expect(c?.probability).to.be.at.least(0.1);
      for (const e of r.ranked) expect(e.score).to.be.within(0, 1);
      const probs = r.ranked.map((e) => e.probability ?? 0);
      expect(probs.slice(1)).to.deep.equal([...probs.slice(1)].sort((x, y) => y - x));
    });

    it('WEIGHTED gives weight as score and the share as probability', () => {
      const r = choose('WEIGHTED', [cand('a', { weight: 3 }), cand('b', { weight: 1 })], ctx());
      expect(r.ranked.map((e) => [e.id, e.score, e.probability])).to.deep.equal([['a', 3, 0.75], ['b', 1, 0.25]]);
    });
  });

  it('same inputs and the same rand give the same decision', () => {
    const candidates = [cand('a', { stats: stats(100, 5, 120) }), cand('b', { stats: stats(3) }), cand('c', { stats: stats(100, 1, 300) })];
    for (const strategy of STRATEGY_NAMES) {
      const run = (): string[] => {
        const context: ChooseContext = ctx({ rand: seq(0.03, 0.61, 0.27, 0.9, 0.44) });
        return Array.from({ length: 20 }, (_, i) => choose(strategy, candidates, { ...context, rrCounter: i }).chosen?.id ?? 'null');
      };
      expect(run(), strategy).to.deep.equal(run());
    }
  });
});
