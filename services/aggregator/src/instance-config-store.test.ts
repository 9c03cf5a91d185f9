import { expect } from 'chai';
import { DEFAULT_BREAKER_CONFIG, type BreakerConfig } from '@apg/core';
import { breakerConfigOf } from './instance-config-store';

describe('per-instance breaker config (routingParams.breaker)', () => {
  const base: BreakerConfig = { ...DEFAULT_BREAKER_CONFIG };
  const cases: { name: string; raw: unknown; want: Partial<BreakerConfig>; ignored: string[] }[] = [
    { name: 'absent', raw: undefined, want: {}, ignored: [] },
    { name: 'null', raw: null, want: {}, ignored: [] },
    { name: 'minCalls override', raw: { minCalls: 3 }, want: { minCalls: 3 }, ignored: [] },
    { name: 'several overrides', raw: { windowMs: 10_000, failureRateThreshold: 0.9, halfOpenProbes: 1 }, want: { windowMs: 10_000, failureRateThreshold: 0.9, halfOpenProbes: 1 }, ignored: [] },
    { name: 'bad values and unknown keys are ignored one by one', raw: { minCalls: 0, failureRateThreshold: 2, colour: 'red', consecutiveFailures: 2 }, want: { consecutiveFailures: 2 }, ignored: ['minCalls', 'failureRateThreshold', 'colour'] },
    { name: 'a string', raw: 'fast', want: {}, ignored: ['breaker'] },
    { name: 'an array', raw: [1, 2], want: {}, ignored: ['breaker'] },
    { name: 'a number', raw: 3, want: {}, ignored: ['breaker'] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = breakerConfigOf(base, c.raw);
      expect(r.config).to.deep.equal({ ...base, ...c.want });
      expect(r.ignored).to.deep.equal(c.ignored);
    });
  }
});
