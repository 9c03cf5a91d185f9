import { expect } from 'chai';
import { C } from './breaker-test-fixtures.js';
import { openDurationFor, resolveBreakerConfig } from './index.js';
import type { BreakerConfig } from './index.js';

describe('breaker config', () => {
  describe('resolveBreakerConfig', () => {
    const cases: { name: string; override?: Record<string, unknown>; ignored: string[]; expect?: Partial<BreakerConfig> }[] =
      [
        { name: 'no override → base', ignored: [], expect: C },
        { name: 'valid values applied', override: { minCalls: 20, failureRateThreshold: 0.25 }, ignored: [], expect: { minCalls: 20, failureRateThreshold: 0.25 } },
        { name: 'rate of exactly 1 accepted', override: { slowCallRateThreshold: 1 }, ignored: [], expect: { slowCallRateThreshold: 1 } },
        { name: 'rate above 1 ignored', override: { failureRateThreshold: 1.5 }, ignored: ['failureRateThreshold'], expect: { failureRateThreshold: 0.5 } },
        { name: 'rate 0 ignored', override: { failureRateThreshold: 0 }, ignored: ['failureRateThreshold'] },
        { name: 'negative rate ignored', override: { slowCallRateThreshold: -0.1 }, ignored: ['slowCallRateThreshold'] },
        { name: 'NaN and Infinity ignored', override: { windowMs: Number.NaN, maxOpenDurationMs: Number.POSITIVE_INFINITY }, ignored: ['windowMs', 'maxOpenDurationMs'], expect: { windowMs: 60_000, maxOpenDurationMs: 300_000 } },
        { name: 'negative duration ignored', override: { openDurationMs: -1 }, ignored: ['openDurationMs'], expect: { openDurationMs: 30_000 } },
        { name: 'open duration under a second ignored (was accepted before the bounds)', override: { openDurationMs: 0 }, ignored: ['openDurationMs'], expect: { openDurationMs: 30_000 } },
        { name: 'zero window ignored', override: { windowMs: 0 }, ignored: ['windowMs'] },
        { name: 'bounds are inclusive', override: { windowMs: 1_000, minCalls: 10_000, consecutiveFailures: 1, halfOpenProbes: 100, slowCallMs: 1, openDurationMs: 3_600_000, maxOpenDurationMs: 3_600_000 }, ignored: [], expect: { windowMs: 1_000, minCalls: 10_000, halfOpenProbes: 100, slowCallMs: 1, openDurationMs: 3_600_000 } },
        { name: 'one past each bound ignored', override: { windowMs: 3_600_001, minCalls: 10_001, consecutiveFailures: 10_001, halfOpenProbes: 101, slowCallMs: 0, maxOpenDurationMs: 999 }, ignored: ['windowMs', 'minCalls', 'consecutiveFailures', 'halfOpenProbes', 'slowCallMs', 'maxOpenDurationMs'] },
        { name: 'a stored row from before the bounds (a year-long window) gets the default', override: { windowMs: 31_536_000_000, minCalls: 1e12 }, ignored: ['windowMs', 'minCalls'], expect: { windowMs: 60_000, minCalls: 10 } },
        { name: 'fractional milliseconds ignored', override: { slowCallMs: 2.5 }, ignored: ['slowCallMs'], expect: { slowCallMs: 5_000 } },
        { name: 'open duration above the max next to it ignored, the max kept', override: { openDurationMs: 60_000, maxOpenDurationMs: 10_000 }, ignored: ['openDurationMs'], expect: { openDurationMs: 30_000, maxOpenDurationMs: 10_000 } },
        { name: 'open duration equal to the max accepted', override: { openDurationMs: 10_000, maxOpenDurationMs: 10_000 }, ignored: [], expect: { openDurationMs: 10_000, maxOpenDurationMs: 10_000 } },
        { name: 'a numeric string is not a breaker number', override: { windowMs: '60000' }, ignored: ['windowMs'] },
        { name: 'a huge digit string is refused', override: { windowMs: `${'9'.repeat(60_000)}x` }, ignored: ['windowMs'] },
        { name: 'non-integer and zero counts ignored', override: { minCalls: 2.5, consecutiveFailures: 0, halfOpenProbes: 0 }, ignored: ['minCalls', 'consecutiveFailures', 'halfOpenProbes'], expect: { minCalls: 10, consecutiveFailures: 5, halfOpenProbes: 3 } },
        { name: 'non-number ignored', override: { minCalls: '20', halfOpenProbes: null }, ignored: ['minCalls', 'halfOpenProbes'] },
        { name: 'unknown key listed', override: { minCals: 3 }, ignored: ['minCals'] },
        { name: 'undefined value skipped silently', override: { minCalls: undefined, slowCallMs: 100 }, ignored: [], expect: { minCalls: 10, slowCallMs: 100 } },
        { name: 'good keys kept next to bad ones', override: { minCalls: 4, failureRateThreshold: 2 }, ignored: ['failureRateThreshold'], expect: { minCalls: 4, failureRateThreshold: 0.5 } },
      ];
    for (const c of cases) {
      it(c.name, () => {
        const base = Object.freeze({ ...C });
        const r = resolveBreakerConfig(base, c.override);
        expect(r.ignored).to.deep.equal(c.ignored);
        expect(r.config).to.include(c.expect ?? {});
        expect(r.config).to.not.equal(base);
      });
    }
  });

  describe('openDurationFor', () => {
    const cases: { reopenCount: number; config?: Partial<BreakerConfig>; ms: number }[] = [
      { reopenCount: 0, ms: 30_000 },
      { reopenCount: 1, ms: 60_000 },
      { reopenCount: 2, ms: 120_000 },
      { reopenCount: 3, ms: 240_000 },
      { reopenCount: 4, ms: 300_000 },
      { reopenCount: 5000, ms: 300_000 },
      { reopenCount: 5000, config: { openDurationMs: 0 }, ms: 0 },
      { reopenCount: 1, config: { maxOpenDurationMs: 10_000 }, ms: 10_000 },
    ];
    for (const c of cases) {
      it(`reopenCount ${c.reopenCount} ${JSON.stringify(c.config ?? {})} → ${c.ms} ms`, () => {
        expect(openDurationFor(c.reopenCount, { ...C, ...c.config })).to.equal(c.ms);
      });
    }
  });
});
