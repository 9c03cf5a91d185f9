import { expect } from 'chai';
import { clamp01, rrIndex, shares, uniformIndex, weightedIndex } from './draws.js';

describe('draws', () => {
  const weighted: { name: string; weights: number[]; u: number; want: number }[] = [
    { name: 'first bucket', weights: [3, 1], u: 0, want: 0 },
    { name: 'just below a boundary', weights: [3, 1], u: 0.7499, want: 0 },
    { name: 'on a boundary: the next bucket', weights: [3, 1], u: 0.75, want: 1 },
    { name: 'zero weights are skipped', weights: [0, 0, 2, 0], u: 0, want: 2 },
    { name: 'u near 1: the last positive weight', weights: [1, 1, 0], u: 0.9999999999999999, want: 1 },
    { name: 'negative and NaN weights count as 0', weights: [-5, Number.NaN, 1], u: 0.3, want: 2 },
    { name: 'no positive weight: uniform', weights: [0, 0, 0, 0], u: 0.5, want: 2 },
    { name: 'infinite total: uniform', weights: [Number.POSITIVE_INFINITY, 1], u: 0.9, want: 1 },
    { name: 'u out of range is clamped', weights: [1, 1], u: 3, want: 1 },
    { name: 'NaN u counts as 0', weights: [1, 1], u: Number.NaN, want: 0 },
  ];
  for (const c of weighted) it(`weightedIndex: ${c.name}`, () => expect(weightedIndex(c.weights, c.u)).to.equal(c.want));

  const rr: { counter: number; n: number; want: number }[] = [
    { counter: 0, n: 3, want: 0 },
    { counter: 4, n: 3, want: 1 },
    { counter: -1, n: 3, want: 2 },
    { counter: 2.9, n: 3, want: 2 },
    { counter: Number.NaN, n: 3, want: 0 },
    { counter: Number.MAX_SAFE_INTEGER, n: 2, want: 1 },
  ];
  for (const c of rr) it(`rrIndex(${c.counter}, ${c.n}) = ${c.want}`, () => expect(rrIndex(c.counter, c.n)).to.equal(c.want));

  it('uniformIndex stays inside 0..n-1', () => {
    expect([0, 0.5, 0.9999999999999999, 1, -1].map((u) => uniformIndex(4, u))).to.deep.equal([0, 2, 3, 3, 0]);
  });

  it('shares: fraction of the positive total, uniform without one', () => {
    expect(shares([3, 1, 0, -2])).to.deep.equal([0.75, 0.25, 0, 0]);
    expect(shares([0, 0])).to.deep.equal([0.5, 0.5]);
  });

  it('clamp01 keeps u in [0, 1)', () => {
    expect([-1, 0.3, 1, Number.NaN].map(clamp01)).to.deep.equal([0, 0.3, 1 - Number.EPSILON, 0]);
  });
});
