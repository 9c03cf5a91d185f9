import { expect } from 'chai';
import { OffsetTracker } from './offset-tracker';

describe('offset tracker', () => {
  it('commits a partition only up to the longest written prefix, whatever the completion order', () => {
    const t = new OffsetTracker();
    const a = t.register(0, '9', 1000);
    const b = t.register(0, '19', 1000);
    const c = t.register(1, '4', 1000);
    const d = t.register(0, '29', 1000);
    expect(t.complete([b])).to.deep.equal([]);
    expect(t.complete([c])).to.deep.equal([{ partition: 1, offset: '5' }]);
    expect(t.complete([a])).to.deep.equal([{ partition: 0, offset: '20' }]);
    expect(t.pending()).to.equal(1);
    expect(t.complete([d])).to.deep.equal([{ partition: 0, offset: '30' }]);
    expect(t.pending()).to.equal(0);
  });

  it('handles offsets beyond 2^53', () => {
    const t = new OffsetTracker();
    const a = t.register(3, '9007199254740993', 1000);
    expect(t.complete([a])).to.deep.equal([{ partition: 3, offset: '9007199254740994' }]);
  });

  it('never commits batches consumed before a rebalance', () => {
    const t = new OffsetTracker();
    const old = t.register(0, '9', 1000);
    t.newEpoch();
    const fresh = t.register(0, '4', 1000);
    expect(t.complete([old])).to.deep.equal([]);
    expect(t.complete([fresh])).to.deep.equal([{ partition: 0, offset: '5' }]);
  });
});

describe('offset tracker: oldest pending event', () => {
  const cases: { name: string; steps: (t: OffsetTracker) => void; want: number | null }[] = [
    { name: 'nothing registered', steps: () => undefined, want: null },
    { name: 'one pending batch', steps: (t) => void t.register(0, '9', 5000), want: 5000 },
    { name: 'the oldest of several partitions', steps: (t) => { t.register(0, '9', 5000); t.register(1, '9', 3000); }, want: 3000 },
    { name: 'written prefix leaves', steps: (t) => { const a = t.register(0, '9', 3000); t.register(0, '19', 4000); t.complete([a]); }, want: 4000 },
    {
      name: 'written out of order: still waiting for the commit counts',
      steps: (t) => { t.register(0, '9', 3000); const b = t.register(0, '19', 4000); t.complete([b]); },
      want: 3000,
    },
    { name: 'a rebalance drops what was registered', steps: (t) => { t.register(0, '9', 3000); t.newEpoch(); }, want: null },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const t = new OffsetTracker();
      c.steps(t);
      expect(t.oldestPendingAt()).to.equal(c.want);
    });
  }
});
