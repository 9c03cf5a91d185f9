import { expect } from 'chai';
import {
  BREAKER_BOUNDS,
  NUMERIC_STRING_MAX_LENGTH,
  ROUTING_PARAM_BOUNDS,
  boundProblem,
  breakerOverrideProblems,
  parseDecimal,
  readNumericSetting,
  routingParamsProblems,
} from './index.js';
import type { NumericBound } from './index.js';

/** Wall time of `fn` in ms (best of three, so one GC pause does not decide). */
function timed(fn: () => void): number {
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

describe('numeric settings', () => {
  describe('parseDecimal', () => {
    const cases: [string, number | null][] = [
      ['0', 0],
      ['12', 12],
      ['-7', -7],
      ['+60', 60],
      ['2.5', 2.5],
      ['.5', 0.5],
      ['5.', 5],
      ['1e3', 1000],
      ['1E-3', 0.001],
      ['-1.5e+2', -150],
      [' 10 ', 10],
      ['\t42\n', 42],
      ['', null],
      ['   ', null],
      ['.', null],
      ['-', null],
      ['+.', null],
      ['e5', null],
      ['1e', null],
      ['1e+', null],
      ['1.2.3', null],
      ['--1', null],
      ['0x10', null],
      ['1_000', null],
      ['Infinity', null],
      ['-Infinity', null],
      ['NaN', null],
      ['1e400', null],
      ['12abc', null],
      ['１２', null], // full-width digits
      ['1 2', null],
      ['\u00a012', null], // only ASCII blanks are trimmed
      ['9'.repeat(NUMERIC_STRING_MAX_LENGTH), Number('9'.repeat(NUMERIC_STRING_MAX_LENGTH))],
      ['9'.repeat(NUMERIC_STRING_MAX_LENGTH + 1), null],
    ];
    for (const [input, want] of cases) {
      it(`${JSON.stringify(input.length > 20 ? `${input.slice(0, 8)}…(${input.length})` : input)} → ${want}`, () => {
        expect(parseDecimal(input)).to.equal(want);
      });
    }

    // The regex this replaced backtracked quadratically: 60,000 digits and a letter blocked a replica for 34 s.
    // Quadratic work on 1 MB takes minutes, so the bounds below separate the two behaviours by orders of
    // magnitude while staying far above what a loaded CI machine adds (the real figures are in the README).
    it('refuses a 1 MB digit string with a trailing letter at once (length cap)', () => {
      const s = `${'1'.repeat(1 << 20)}a`;
      expect(timed(() => expect(parseDecimal(s)).to.equal(null))).to.be.below(100);
    });

    it('scans a 1 MB string in linear time even without the cap', () => {
      const digits = '1'.repeat(1 << 20);
      const pathological = [`${digits}a`, `${digits}.${digits}e`, `${' '.repeat(1 << 20)}x`, `1${'e'.repeat(1 << 20)}`, `${'-'.repeat(1 << 20)}1`, `${'.'.repeat(1 << 20)}`];
      for (const s of pathological) {
        expect(timed(() => expect(parseDecimal(s, Infinity)).to.equal(null)), `${s.slice(0, 3)}…`).to.be.below(1000);
      }
      // A valid 1 MB decimal is read too (and overflows to Infinity, which is not a number here).
      expect(parseDecimal(digits, Infinity)).to.equal(null);
      expect(parseDecimal(`0.${digits}`, Infinity)).to.be.closeTo(0.111, 0.001);
    });
  });

  describe('boundProblem', () => {
    const int: NumericBound = { min: 1, max: 10, integer: true };
    const rate: NumericBound = { min: 0, max: 1, minExclusive: true };
    const cases: [NumericBound, number, boolean][] = [
      [int, 1, true],
      [int, 10, true],
      [int, 0, false],
      [int, 11, false],
      [int, 5.5, false],
      [int, Number.NaN, false],
      [int, Number.POSITIVE_INFINITY, false],
      [rate, 1, true],
      [rate, 0.0001, true],
      [rate, 0, false],
      [rate, -0.1, false],
      [rate, 1.0001, false],
    ];
    for (const [bound, n, inside] of cases) {
      it(`${JSON.stringify(bound)} ${n} → ${inside ? 'inside' : 'outside'}`, () => {
        expect(boundProblem(n, bound) === null).to.equal(inside);
      });
    }

    it('says the range in its message', () => {
      expect(boundProblem(0, BREAKER_BOUNDS.windowMs)).to.equal('must be an integer from 1000 to 3600000 ms');
      expect(boundProblem(0, BREAKER_BOUNDS.failureRateThreshold)).to.equal('must be a number greater than 0 to 1');
      expect(boundProblem(-1, ROUTING_PARAM_BOUNDS.costPerUnit)).to.equal('must be a number from 0 to 1e9');
    });
  });

  describe('readNumericSetting', () => {
    const b = ROUTING_PARAM_BOUNDS.rpm;
    const cases: [unknown, boolean, number | null][] = [
      [60, true, 60],
      ['60', true, 60],
      ['60', false, null],
      [true, true, null],
      [null, true, null],
      [{}, true, null],
      [[60], true, null],
      [0, true, null],
      [1e9, true, 1e9],
      [1e9 + 1, true, null],
      [5n, true, 5],
    ];
    for (const [raw, strings, want] of cases) {
      it(`${typeof raw === 'bigint' ? `${raw}n` : JSON.stringify(raw)} (strings ${strings}) → ${want}`, () => {
        const r = readNumericSetting(raw, b, { strings });
        expect(r.ok ? r.value : null).to.equal(want);
      });
    }

    it('never echoes the value in its message', () => {
      const r = readNumericSetting(`${'7'.repeat(100_000)}x`, b, { strings: true });
      expect(r.ok).to.equal(false);
      if (!r.ok) expect(r.problem.length).to.be.below(200);
    });
  });

  describe('routingParamsProblems', () => {
    const cases: { name: string; params: Record<string, unknown>; paths: string[] }[] = [
      { name: 'empty', params: {}, paths: [] },
      { name: 'valid values, numeric strings, nulls and the client\'s own keys', params: { priority: '2', weight: 3, cost_per_unit: '0.5', rpm: null, region: 'eu', nested: { x: 'y' } }, paths: [] },
      { name: 'every alias is checked', params: { weight: 2, initial_weight: -1, costPerToken: 'cheap' }, paths: ['initial_weight', 'costPerToken'] },
      { name: 'out of bounds', params: { priority: 1.5, weight: 1e7, costPerUnit: 2e9, rpm: 0, tpm: 1e10 }, paths: ['priority', 'weight', 'costPerUnit', 'rpm', 'tpm'] },
      { name: 'breaker problems are nested', params: { breaker: { windowMs: 500, minCalls: 20, bogus: 1 } }, paths: ['breaker.windowMs', 'breaker.bogus'] },
      { name: 'breaker null is absent', params: { breaker: null }, paths: [] },
      { name: 'breaker not an object', params: { breaker: [1] }, paths: ['breaker'] },
      { name: 'breaker open above max', params: { breaker: { openDurationMs: 20_000, maxOpenDurationMs: 10_000 } }, paths: ['breaker.openDurationMs'] },
    ];
    for (const c of cases) {
      it(c.name, () => {
        expect(routingParamsProblems(c.params).map((p) => p.path.join('.'))).to.deep.equal(c.paths);
      });
    }
  });

  describe('breakerOverrideProblems', () => {
    it('a value inside every bound passes; one outside names its key', () => {
      const inside = { windowMs: 60_000, minCalls: 10, failureRateThreshold: 1, consecutiveFailures: 5, openDurationMs: 1_000, maxOpenDurationMs: 3_600_000, halfOpenProbes: 3, slowCallMs: 1, slowCallRateThreshold: 0.5 };
      expect(breakerOverrideProblems(inside)).to.deep.equal([]);
      for (const key of Object.keys(inside) as (keyof typeof inside)[]) {
        const b = BREAKER_BOUNDS[key];
        for (const bad of [b.minExclusive ? b.min : b.min - 1, b.max + 1, Number.NaN]) {
          const problems = breakerOverrideProblems({ ...inside, [key]: bad });
          expect(problems.map((p) => p.path.join('.')), `${key} = ${bad}`).to.include(key);
        }
      }
    });
  });
});
