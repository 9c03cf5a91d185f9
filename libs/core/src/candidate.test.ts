import { expect } from 'chai';
import { candidateStatsOf, routingParamsOf, toCandidate } from './index.js';
import type { RoutingParams, WindowStats } from './index.js';

describe('candidate', () => {
  it('toCandidate fills the documented defaults, and an explicit undefined does not wipe one out', () => {
    expect(toCandidate({ id: 'a', weight: undefined })).to.deep.equal({
      id: 'a',
      priority: 0,
      weight: 1,
      costPerUnit: 0,
      breakerState: 'CLOSED',
      routable: 'yes',
      degraded: false,
      stats: null,
      inFlight: 0,
      cooldownUntil: null,
      overLimit: false,
    });
    expect(toCandidate({ id: 'b', priority: 7, overLimit: true })).to.include({ id: 'b', priority: 7, overLimit: true });
  });

  it('candidateStatsOf maps window stats (successRate null without calls)', () => {
    const ws = (calls: number, failures: number): WindowStats => ({
      calls,
      failures,
      slowCalls: 0,
      failureRate: calls > 0 ? failures / calls : 0,
      slowCallRate: 0,
      avgLatencyMs: calls > 0 ? 120 : null,
      maxLatencyMs: calls > 0 ? 300 : null,
      latencyEwmaMs: calls > 0 ? 110 : null,
      consecutiveFailures: 0,
      tokens: { prompt: 0, completion: 0, total: 0 },
      cost: 0,
    });
    expect(candidateStatsOf(ws(10, 2))).to.deep.equal({
      calls: 10,
      failures: 2,
      successRate: 0.8,
      avgLatencyMs: 120,
      latencyEwmaMs: 110,
    });
    expect(candidateStatsOf(ws(0, 0))).to.deep.equal({
      calls: 0,
      failures: 0,
      successRate: null,
      avgLatencyMs: null,
      latencyEwmaMs: null,
    });
  });

  describe('routingParamsOf', () => {
    const D: RoutingParams = { priority: 0, weight: 1, costPerUnit: 0, rpm: null, tpm: null, invalid: [] };
    interface Case {
      name: string;
      raw: unknown;
      want: Partial<RoutingParams>;
    }
    const cases: Case[] = [
      { name: 'empty object: defaults', raw: {}, want: {} },
      { name: 'new names', raw: { priority: 100, weight: 3, costPerUnit: 0.002, rpm: 60, tpm: 90_000 }, want: { priority: 100, weight: 3, costPerUnit: 0.002, rpm: 60, tpm: 90_000 } },
      { name: "seed's snake_case names", raw: { initial_weight: 5, cost_per_unit: 2 }, want: { weight: 5, costPerUnit: 2 } },
      { name: "the seed SDK's costPerToken", raw: { costPerToken: 0.5 }, want: { costPerUnit: 0.5 } },
      { name: 'new name wins over the seed name', raw: { weight: 2, initial_weight: 9, costPerUnit: 1, cost_per_unit: 4 }, want: { weight: 2, costPerUnit: 1 } },
      { name: 'invalid new name falls back to a valid seed name', raw: { weight: -1, initial_weight: 4 }, want: { weight: 4, invalid: ['weight'] } },
      { name: 'negative priority is fine', raw: { priority: -2 }, want: { priority: -2 } },
      { name: 'a fractional priority is invalid (the seed cast it to Integer)', raw: { priority: -2.5 }, want: { invalid: ['priority'] } },
      { name: 'numeric strings', raw: { priority: ' 10 ', weight: '2.5', cost_per_unit: '1e-3', rpm: '+60', tpm: '1e3' }, want: { priority: 10, weight: 2.5, costPerUnit: 0.001, rpm: 60, tpm: 1000 } },
      { name: 'bounds are inclusive', raw: { priority: -1_000_000, weight: 1_000_000, costPerUnit: 1e9, rpm: 1, tpm: 1e9 }, want: { priority: -1_000_000, weight: 1_000_000, costPerUnit: 1e9, rpm: 1, tpm: 1e9 } },
      { name: 'past the bounds: the default, listed (a row stored before the bounds)', raw: { priority: 3_000_000_000, weight: 1_000_001, costPerUnit: 1.5e9, rpm: 1e10, tpm: 2.5 }, want: { invalid: ['priority', 'weight', 'costPerUnit', 'rpm', 'tpm'] } },
      { name: 'a 60,000-digit string ending in a letter is invalid (and cheap)', raw: { weight: `${'1'.repeat(60_000)}a` }, want: { invalid: ['weight'] } },
      { name: 'integer cost (the seed threw ClassCastException)', raw: { cost_per_unit: 3 }, want: { costPerUnit: 3 } },
      { name: 'bigint is a number too', raw: { priority: 5n }, want: { priority: 5 } },
      { name: 'weight 0 is valid (drains the instance)', raw: { weight: 0 }, want: { weight: 0 } },
      { name: 'empty and blank strings are invalid, not 0', raw: { priority: '', weight: '  ' }, want: { invalid: ['priority', 'weight'] } },
      { name: 'hex, Infinity and words are invalid', raw: { priority: '0x10', weight: 'Infinity', costPerUnit: 'cheap' }, want: { invalid: ['priority', 'weight', 'costPerUnit'] } },
      { name: 'overflowing decimal is invalid', raw: { priority: '1e400' }, want: { invalid: ['priority'] } },
      { name: 'NaN and Infinity numbers are invalid', raw: { weight: Number.NaN, costPerUnit: Number.POSITIVE_INFINITY }, want: { invalid: ['weight', 'costPerUnit'] } },
      { name: 'booleans, objects and arrays are invalid', raw: { priority: true, weight: { v: 1 }, rpm: [60] }, want: { invalid: ['priority', 'weight', 'rpm'] } },
      { name: 'negative cost is invalid', raw: { costPerUnit: -0.1 }, want: { invalid: ['costPerUnit'] } },
      { name: 'a limit must be > 0', raw: { rpm: 0, tpm: -5 }, want: { invalid: ['rpm', 'tpm'] } },
      { name: 'null and undefined are absent, not invalid', raw: { priority: null, weight: undefined }, want: {} },
      { name: 'unknown keys (e.g. the breaker override) are not ours to flag', raw: { breaker: { minCalls: 3 }, region: 'eu' }, want: {} },
      { name: 'not an object: defaults', raw: null, want: {} },
      { name: 'an array: defaults', raw: [1, 2], want: {} },
    ];
    for (const c of cases) {
      it(c.name, () => {
        expect(routingParamsOf(c.raw as Record<string, unknown>)).to.deep.equal({ ...D, ...c.want });
      });
    }
  });
});
