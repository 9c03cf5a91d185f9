import { expect } from 'chai';
import { LruMap } from './lru-map';

describe('LruMap', () => {
  it('drops the least recently used entry, not the oldest inserted one', () => {
    const m = new LruMap<string, number>(3);
    m.set('a', 1);
    m.set('b', 2);
    m.set('c', 3);
    expect(m.get('a')).to.equal(1); // a is now the most recent; b is the least
    expect(m.set('d', 4)).to.equal('b');
    expect([m.peek('a'), m.peek('b'), m.peek('c'), m.peek('d')]).to.deep.equal([1, undefined, 3, 4]);
    expect(m.size).to.equal(3);
  });

  it('peek does not refresh recency; set of an existing key does', () => {
    const m = new LruMap<string, number>(2);
    m.set('a', 1);
    m.set('b', 2);
    m.peek('a');
    expect(m.oldest()).to.deep.equal(['a', 1]);
    m.set('a', 10);
    expect(m.oldest()).to.deep.equal(['b', 2]);
    expect(m.set('c', 3)).to.equal('b');
  });

  it('stays at capacity under a flood of distinct keys (bounded memory)', () => {
    const m = new LruMap<number, number>(1000);
    for (let i = 0; i < 100_000; i++) m.set(i, i);
    expect(m.size).to.equal(1000);
    expect(m.peek(99_999)).to.equal(99_999);
    expect(m.peek(98_999)).to.equal(undefined);
  });

  it('refuses a capacity that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => new LruMap(bad)).to.throw(RangeError);
  });
});
