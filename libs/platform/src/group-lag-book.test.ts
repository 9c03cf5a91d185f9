import { expect } from 'chai';
import { GroupLagBook, MAX_SAMPLES, type PartitionOffsets } from './group-lag-book';

const p = (partition: number, high: number | string, committed: number | string, low: number | string = 0): PartitionOffsets =>
  ({ partition, high: String(high), low: String(low), committed: String(committed) });

describe('group lag book', () => {
  const cases: { name: string; polls: [number, PartitionOffsets[]][]; lag: Record<number, number>; waitMs: number }[] = [
    { name: 'no poll yet', polls: [], lag: {}, waitMs: 0 },
    { name: 'caught up', polls: [[1000, [p(0, 50, 50)]]], lag: { 0: 0 }, waitMs: 0 },
    { name: 'never committed: lag from the log start', polls: [[1000, [p(0, 50, -1, 10)]]], lag: { 0: 40 }, waitMs: 0 },
    { name: 'committed below the log start (retention deleted it)', polls: [[1000, [p(0, 50, 3, 10)]]], lag: { 0: 40 }, waitMs: 0 },
    { name: 'behind at one poll only: waited at least 0', polls: [[1000, [p(0, 50, 20)]]], lag: { 0: 30 }, waitMs: 0 },
    {
      name: 'stalled: commit does not move while messages arrive',
      polls: [[1000, [p(0, 50, 20)]], [2000, [p(0, 60, 20)]], [7000, [p(0, 90, 20)]]],
      lag: { 0: 70 }, waitMs: 6000,
    },
    {
      name: 'stalled with no new messages: still waiting',
      polls: [[1000, [p(0, 50, 20)]], [2000, [p(0, 50, 20)]], [9000, [p(0, 50, 20)]]],
      lag: { 0: 30 }, waitMs: 8000,
    },
    {
      name: 'slow consumer: the wait starts at the first poll above the commit',
      polls: [[1000, [p(0, 50, 20)]], [2000, [p(0, 80, 55)]], [3000, [p(0, 90, 70)]]],
      // 55 > 50: the events seen at 1000 are consumed; event 70 existed at 2000 (high 80).
      lag: { 0: 20 }, waitMs: 1000,
    },
    {
      name: 'healthy busy consumer: what existed at the last poll is committed by the next',
      polls: [[1000, [p(0, 50, 45)]], [2000, [p(0, 100, 50)]], [3000, [p(0, 150, 100)]]],
      lag: { 0: 50 }, waitMs: 0,
    },
    {
      name: 'recovered: lag back to 0 and the wait with it',
      polls: [[1000, [p(0, 50, 20)]], [9000, [p(0, 90, 20)]], [10_000, [p(0, 90, 90)]]],
      lag: { 0: 0 }, waitMs: 0,
    },
    {
      name: 'the oldest partition sets the wait',
      polls: [[1000, [p(0, 50, 20), p(1, 5, 5)]], [4000, [p(0, 50, 20), p(1, 9, 5)]], [6000, [p(0, 50, 20), p(1, 12, 5)]]],
      lag: { 0: 30, 1: 7 }, waitMs: 5000,
    },
    {
      name: 'committed beyond the log end (topic made again): nothing known waiting',
      polls: [[1000, [p(0, 50, 20)]], [5000, [p(0, 3, 20)]]],
      lag: { 0: 0 }, waitMs: 0,
    },
    {
      name: 'partitions no longer reported are forgotten',
      polls: [[1000, [p(0, 50, 20), p(1, 50, 20)]], [5000, [p(1, 50, 50)]]],
      lag: { 1: 0 }, waitMs: 0,
    },
    {
      name: 'garbage offsets are ignored',
      polls: [[1000, [p(0, 'x', 20), p(1, 10, '1e3')]]],
      lag: {}, waitMs: 0,
    },
    {
      name: 'offsets beyond 2^53',
      polls: [[1000, [p(0, '9007199254740999', '9007199254740990')]], [3000, [p(0, '9007199254740999', '9007199254740990')]]],
      lag: { 0: 9 }, waitMs: 2000,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const book = new GroupLagBook();
      for (const [at, offsets] of c.polls) book.observe(at, offsets);
      expect(Object.fromEntries(book.lagByPartition())).to.deep.equal(c.lag);
      expect(book.oldestWaitMs()).to.equal(c.waitMs);
      expect(book.totalLag()).to.equal(Object.values(c.lag).reduce((a, b) => a + b, 0));
    });
  }

  it('thinning many samples keeps the estimate from the first poll (a lower bound, never more)', () => {
    const book = new GroupLagBook();
    // A stall with a message every poll for far more polls than samples are kept.
    for (let i = 0; i <= MAX_SAMPLES * 4; i++) book.observe(1000 + i * 100, [p(0, 100 + i, 100 - 1)]);
    expect(book.oldestWaitMs()).to.equal(MAX_SAMPLES * 4 * 100);
    // The consumer catches up to what existed at a mid poll: the estimate may start later (thinned), never earlier.
    const mid = MAX_SAMPLES * 2;
    book.observe(1000 + (MAX_SAMPLES * 4 + 1) * 100, [p(0, 100 + MAX_SAMPLES * 4, 100 + mid)]);
    const exact = (MAX_SAMPLES * 4 + 1 - (mid + 1)) * 100;
    expect(book.oldestWaitMs()).to.be.at.most(exact).and.at.least(exact - 4 * 100 * 4);
  });

  it('clear forgets every partition', () => {
    const book = new GroupLagBook();
    book.observe(1000, [p(0, 50, 20)]);
    book.observe(5000, [p(0, 50, 20)]);
    book.clear(6000);
    expect(book.totalLag()).to.equal(0);
    expect(book.oldestWaitMs()).to.equal(0);
    expect(book.lastPollAt()).to.equal(6000);
  });
});
