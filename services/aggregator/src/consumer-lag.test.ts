import { expect } from 'chai';
import { ConsumerLag } from './consumer-lag';

describe('consumer lag', () => {
  const cases: { name: string; steps: ((l: ConsumerLag) => void)[]; want: number }[] = [
    { name: 'nothing observed', steps: [], want: 0 },
    { name: 'one partition behind', steps: [(l) => l.observe('t', 0, '100', '40')], want: 60 },
    { name: 'caught up', steps: [(l) => l.observe('t', 0, '100', '100')], want: 0 },
    { name: 'summed over partitions', steps: [(l) => l.observe('t', 0, '100', '90'), (l) => l.observe('t', 1, '50', '20')], want: 40 },
    { name: 'the latest batch of a partition wins', steps: [(l) => l.observe('t', 0, '100', '10'), (l) => l.observe('t', 0, '120', '115')], want: 5 },
    { name: 'revoked partitions drop out', steps: [(l) => l.observe('t', 0, '100', '90'), (l) => l.observe('t', 1, '50', '20'), (l) => l.retain({ t: [0] })], want: 10 },
    { name: 'never negative', steps: [(l) => l.observe('t', 0, '5', '9')], want: 0 },
    { name: 'bad offsets ignored', steps: [(l) => l.observe('t', 0, '-1', '9')], want: 0 },
    { name: 'beyond 2^53', steps: [(l) => l.observe('t', 0, '9007199254740999', '9007199254740990')], want: 9 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const lag = new ConsumerLag();
      for (const s of c.steps) s(lag);
      expect(lag.total()).to.equal(c.want);
    });
  }
});
