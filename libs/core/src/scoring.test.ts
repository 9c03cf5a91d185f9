import { expect } from 'chai';
import {
  DEFAULT_SMART_CONFIG,
  costScores,
  effectiveWeights,
  isCold,
  latencyOf,
  latencyScores,
  resolveSmartConfig,
  scoreCandidates,
  smoothedSuccessRate,
} from './index.js';
import type { CandidateStats, SmartConfig } from './index.js';
import { cand, stats } from './routing-test-fixtures.js';

const C: SmartConfig = { ...DEFAULT_SMART_CONFIG };
const close = (actual: number | null | undefined, expected: number): void => {
  expect(actual).to.be.a('number');
  expect(actual).to.be.closeTo(expected, 1e-9);
};

describe('scoring', () => {
  it('documented defaults', () => {
    expect(C).to.deep.equal({
      coldMinCalls: 5,
      explorationRatio: 0.1,
      priorSuccesses: 1,
      priorFailures: 1,
      successWeight: 4,
      tieTolerance: 0.02,
      latencyWeight: 1,
      loadWeight: 1,
      costWeight: 0.5,
    });
  });

  describe('resolveSmartConfig', () => {
    const cases: { name: string; override: Record<string, unknown> | undefined; set?: Partial<SmartConfig>; ignored?: string[] }[] = [
      { name: 'no override', override: undefined },
      { name: 'valid values', override: { explorationRatio: 0.2, coldMinCalls: 0, costWeight: 0 }, set: { explorationRatio: 0.2, coldMinCalls: 0, costWeight: 0 } },
      { name: 'ratio outside 0..1', override: { explorationRatio: 1.5 }, ignored: ['explorationRatio'] },
      { name: 'fractional cold threshold', override: { coldMinCalls: 2.5 }, ignored: ['coldMinCalls'] },
      { name: 'zero prior would allow a 0 score', override: { priorSuccesses: 0, priorFailures: -1 }, ignored: ['priorSuccesses', 'priorFailures'] },
      { name: 'negative weight, string, NaN', override: { successWeight: -1, latencyWeight: '2', loadWeight: Number.NaN }, ignored: ['successWeight', 'latencyWeight', 'loadWeight'] },
      { name: 'unknown key', override: { herd: 1 }, ignored: ['herd'] },
      { name: 'undefined is skipped silently', override: { costWeight: undefined } },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const r = resolveSmartConfig(C, c.override);
        expect(r.config).to.deep.equal({ ...C, ...c.set });
        expect(r.ignored).to.deep.equal(c.ignored ?? []);
      });
    }
  });

  describe('smoothedSuccessRate', () => {
    const cases: { name: string; stats: CandidateStats | null; config?: Partial<SmartConfig>; want: number }[] = [
      { name: 'no stats: the prior mean', stats: null, want: 0.5 },
      { name: 'no calls: the prior mean', stats: stats(0), want: 0.5 },
      { name: '10/10 is not 1: few calls are not proof', stats: stats(10), want: 11 / 12 },
      { name: '95/100', stats: stats(100, 5), want: 96 / 102 },
      { name: '50 %', stats: stats(100, 50), want: 0.5 },
      { name: 'all failed is not 0', stats: stats(8, 8), want: 1 / 10 },
      { name: 'a stronger prior', stats: stats(2, 1), config: { priorSuccesses: 9, priorFailures: 1 }, want: 10 / 12 },
      { name: 'failures above calls are clamped', stats: { ...stats(4), failures: 9 }, want: 1 / 6 },
      { name: 'negative or NaN counts count as 0', stats: { ...stats(4), calls: -3, failures: Number.NaN }, want: 0.5 },
    ];
    for (const c of cases) it(c.name, () => close(smoothedSuccessRate(c.stats, { ...C, ...c.config }), c.want));
  });

  describe('latencyOf', () => {
    const cases: { name: string; stats: CandidateStats | null; want: number | null }[] = [
      { name: 'no stats', stats: null, want: null },
      { name: 'EWMA first (recent)', stats: { ...stats(10), latencyEwmaMs: 80, avgLatencyMs: 200 }, want: 80 },
      { name: 'average without EWMA', stats: { ...stats(10), latencyEwmaMs: null, avgLatencyMs: 200 }, want: 200 },
      { name: 'NaN EWMA is skipped', stats: { ...stats(10), latencyEwmaMs: Number.NaN, avgLatencyMs: 200 }, want: 200 },
      { name: '0 ms is floored to 1 ms', stats: stats(10, 0, 0), want: 1 },
      { name: 'nothing known', stats: stats(10, 0, null), want: null },
    ];
    for (const c of cases) it(c.name, () => expect(latencyOf(c.stats)).to.equal(c.want));
  });

  it('isCold: no stats or fewer than coldMinCalls', () => {
    expect(isCold(cand('a', { stats: null }), C)).to.equal(true);
    expect(isCold(cand('a', { stats: stats(4) }), C)).to.equal(true);
    expect(isCold(cand('a', { stats: stats(5) }), C)).to.equal(false);
    expect(isCold(cand('a', { stats: stats(0) }), { ...C, coldMinCalls: 0 })).to.equal(false);
  });

  describe('costScores', () => {
    const cases: { name: string; costs: number[]; want: number[] }[] = [
      { name: 'all free (unpriced)', costs: [0, 0], want: [1, 1] },
      { name: 'equal costs', costs: [2, 2], want: [1, 1] },
      { name: 'twice the price, floor 10 % of the dearest', costs: [1, 2], want: [1, 1.2 / 2.2] },
      { name: 'a free one does not zero the priced one', costs: [0, 10], want: [1, 1 / 11] },
      { name: 'invalid cost counts as 0', costs: [Number.NaN, 10], want: [1, 1 / 11] },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const got = costScores(c.costs.map((costPerUnit, i) => cand(`c${i}`, { costPerUnit })));
        got.forEach((g, i) => close(g, c.want[i] ?? Number.NaN));
      });
    }
  });

  it('latencyScores: fastest/own among warm, null for cold or unknown', () => {
    const pool = [
      cand('a', { stats: stats(100, 0, 100) }),
      cand('b', { stats: stats(100, 0, 400) }),
      cand('c', { stats: stats(2, 0, 10) }),
      cand('d', { stats: stats(50, 0, null) }),
    ];
    expect(latencyScores(pool, C)).to.deep.equal([1, 0.25, null, null]);
    expect(latencyScores([cand('x', { stats: null })], C)).to.deep.equal([null]);
  });

  it('effectiveWeights: an all-zero pool counts as all-one; invalid weights are 0', () => {
    expect(effectiveWeights([cand('a', { weight: 3 }), cand('b', { weight: -1 })])).to.deep.equal([3, 0]);
    expect(effectiveWeights([cand('a', { weight: 0 }), cand('b', { weight: Number.NaN })])).to.deep.equal([1, 1]);
  });

  describe('scoreCandidates', () => {
    it('equally healthy candidates score the same', () => {
      const [a, b] = scoreCandidates([cand('a'), cand('b')], C);
      expect(a?.score).to.equal(b?.score);
      close(a?.score, (101 / 102) ** 4);
    });

    it('50 % next to 99 %: ratio 0.5^4 : 0.98^4, so about 6 % of the weight', () => {
      const [weak, strong] = scoreCandidates([cand('w', { stats: stats(100, 50) }), cand('s', { stats: stats(100, 1) })], C);
      close(weak?.success, 0.5);
      close(strong?.success, 100 / 102);
      const share = (weak?.score ?? 0) / ((weak?.score ?? 0) + (strong?.score ?? 0));
      expect(share).to.be.within(0.05, 0.08);
    });

    it('cold candidates take the mean of their warm peers (neutral prior); load and cost still apply', () => {
      const pool = [
        cand('a', { stats: stats(100, 0, 100) }),
        cand('b', { stats: stats(100, 50, 200) }),
        cand('c', { stats: stats(3, 3, 5), inFlight: 1, costPerUnit: 0 }),
      ];
      const [a, b, c] = scoreCandidates(pool, C);
      expect(c?.cold).to.equal(true);
      close(c?.success, ((a?.success ?? 0) + (b?.success ?? 0)) / 2);
      close(c?.latency, (1 + 0.5) / 2);
      close(c?.load, 0.5);
      close(c?.score, (c?.success ?? 0) ** 4 * 0.75 * 0.5);
    });

    it('a whole cold pool is neutral: all 1', () => {
      const got = scoreCandidates([cand('a', { stats: null }), cand('b', { stats: stats(1, 1) })], C);
      expect(got.map((g) => g.score)).to.deep.equal([1, 1]);
    });

    it('a zero exponent switches a component off', () => {
      const pool = [cand('a', { stats: stats(100, 0, 100), inFlight: 9, costPerUnit: 5 }), cand('b', { stats: stats(100, 0, 900) })];
      const off = { ...C, latencyWeight: 0, loadWeight: 0, costWeight: 0 };
      const [a, b] = scoreCandidates(pool, off);
      expect(a?.score).to.equal(b?.score);
      const [a2, b2] = scoreCandidates(pool, C);
      close(a2?.score, (101 / 102) ** 4 * 1 * 0.1 * Math.sqrt(0.5 / 5.5));
      close(b2?.score, (101 / 102) ** 4 * (1 / 9));
    });
  });
});
