import { expect } from 'chai';
import { OffsetTracker } from './offset-tracker';

describe('offset tracker', () => {
  it('commits a partition only up to the longest written prefix, whatever the completion order', () => {
    const t = new OffsetTracker();
    const a = t.register(0, '9');
    const b = t.register(0, '19');
    const c = t.register(1, '4');
    const d = t.register(0, '29');
    expect(t.complete([b])).to.deep.equal([]);
    expect(t.complete([c])).to.deep.equal([{ partition: 1, offset: '5' }]);
    expect(t.complete([a])).to.deep.equal([{ partition: 0, offset: '20' }]);
    expect(t.pending()).to.equal(1);
    expect(t.complete([d])).to.deep.equal([{ partition: 0, offset: '30' }]);
    expect(t.pending()).to.equal(0);
  });

  it('handles offsets beyond 2^53', () => {
    const t = new OffsetTracker();
    const a = t.register(3, '9007199254740993');
    expect(t.complete([a])).to.deep.equal([{ partition: 3, offset: '9007199254740994' }]);
  });

  it('never commits batches consumed before a rebalance', () => {
    const t = new OffsetTracker();
    const old = t.register(0, '9');
    t.newEpoch();
    const fresh = t.register(0, '4');
    expect(t.complete([old])).to.deep.equal([]);
    expect(t.complete([fresh])).to.deep.equal([{ partition: 0, offset: '5' }]);
  });
});
