import { expect } from 'chai';
import { initialBreaker, type BreakerSnapshot, type HealthRecord } from '@apg/core';
import { followsRemote, verdictOf, type LocalView } from './breaker-verdict';

const NOW = 10_000_000;
const UNSEEN: HealthRecord = { ...initialBreaker(0), reason: 'unseen', cooldownUntil: null, stats: null, updatedAt: 0 };

const snap = (state: BreakerSnapshot['state'], since: number, p: Partial<BreakerSnapshot> = {}): BreakerSnapshot => ({
  ...initialBreaker(since),
  state,
  openedAt: state === 'CLOSED' || state === 'FORCED_CLOSED' ? null : since,
  openUntil: state === 'OPEN' ? since + 30_000 : null,
  reason: state.toLowerCase(),
  ...p,
});
const remote = (state: BreakerSnapshot['state'], since: number, updatedAt: number, p: Partial<HealthRecord> = {}): HealthRecord => ({
  ...snap(state, since),
  cooldownUntil: null,
  stats: null,
  updatedAt,
  ...p,
});
const local = (state: BreakerSnapshot['state'], since: number, seenAt: number, p: Partial<LocalView> = {}): LocalView => ({
  breaker: snap(state, since),
  cooldownUntil: null,
  seenAt,
  stats: null,
  ...p,
});

describe('breaker verdict: aggregator record merged with the local breaker', () => {
  const cases: { name: string; remote: HealthRecord | null; local: LocalView | null; fresh: boolean; source: 'remote' | 'local'; state: string }[] = [
    { name: 'no local reports: the record decides', remote: remote('OPEN', NOW - 5, NOW - 5), local: null, fresh: false, source: 'remote', state: 'OPEN' },
    { name: 'no record, no local reports: unseen and healthy', remote: null, local: null, fresh: true, source: 'remote', state: 'CLOSED' },
    { name: 'no record (aggregator never wrote): local decides', remote: null, local: local('OPEN', NOW - 10, NOW - 10), fresh: true, source: 'local', state: 'OPEN' },
    // The gap between a failure report and the aggregator's answer, whatever the heartbeat says.
    { name: 'local opened after the record\'s last transition: local decides (aggregator alive)', remote: remote('CLOSED', NOW - 60_000, NOW - 1), local: local('OPEN', NOW - 5, NOW - 5), fresh: true, source: 'local', state: 'OPEN' },
    { name: 'local opened, record newer but from before the open (aggregator dead)', remote: remote('CLOSED', NOW - 60_000, NOW - 1), local: local('OPEN', NOW - 5, NOW - 5), fresh: false, source: 'local', state: 'OPEN' },
    { name: 'aggregator answered with its own OPEN: the record decides', remote: remote('OPEN', NOW - 3, NOW - 3), local: local('OPEN', NOW - 5, NOW - 5), fresh: true, source: 'remote', state: 'OPEN' },
    { name: 'record caught up and CLOSED, local CLOSED: the record decides', remote: remote('CLOSED', NOW - 60_000, NOW - 1), local: local('CLOSED', NOW - 60_000, NOW - 2), fresh: false, source: 'remote', state: 'CLOSED' },
    { name: 'record behind the last local report, aggregator dead: local decides', remote: remote('CLOSED', NOW - 60_000, NOW - 100), local: local('CLOSED', NOW - 60_000, NOW - 2), fresh: false, source: 'local', state: 'CLOSED' },
    { name: 'record behind, aggregator alive and more cautious (OPEN from other replicas): the record decides', remote: remote('OPEN', NOW - 100, NOW - 100), local: local('CLOSED', NOW - 60_000, NOW - 2), fresh: true, source: 'remote', state: 'OPEN' },
    { name: 'record behind, aggregator dead, record OPEN: local decides (its newer reports count)', remote: remote('OPEN', NOW - 100, NOW - 100), local: local('CLOSED', NOW - 60_000, NOW - 2), fresh: false, source: 'local', state: 'CLOSED' },
    { name: 'record behind and less cautious, aggregator alive: local decides', remote: remote('CLOSED', NOW - 60_000, NOW - 100), local: local('OPEN', NOW - 60_000, NOW - 2), fresh: true, source: 'local', state: 'OPEN' },
    { name: 'local closed after its probes, record still HALF_OPEN and behind: local decides', remote: remote('HALF_OPEN', NOW - 1000, NOW - 500), local: local('CLOSED', NOW - 10, NOW - 10), fresh: true, source: 'local', state: 'CLOSED' },
    { name: 'aggregator closed after the local episode and took every report: the record decides', remote: remote('CLOSED', NOW - 5, NOW - 5), local: local('HALF_OPEN', NOW - 1000, NOW - 20), fresh: false, source: 'remote', state: 'CLOSED' },
    { name: 'admin FORCED_CLOSED beats a local OPEN', remote: remote('FORCED_CLOSED', NOW - 60_000, NOW - 60_000), local: local('OPEN', NOW - 5, NOW - 5), fresh: false, source: 'remote', state: 'FORCED_CLOSED' },
    { name: 'admin FORCED_OPEN beats a local CLOSED', remote: remote('FORCED_OPEN', NOW - 60_000, NOW - 60_000), local: local('CLOSED', NOW - 5, NOW - 5), fresh: false, source: 'remote', state: 'FORCED_OPEN' },
    { name: 'a local park (AUTH_INVALID) beats an older CLOSED record', remote: remote('CLOSED', NOW - 60_000, NOW - 60_000), local: local('FORCED_OPEN', NOW - 5, NOW - 5), fresh: true, source: 'local', state: 'FORCED_OPEN' },
    { name: 'an admin release after the local park: the record decides', remote: remote('CLOSED', NOW - 2, NOW - 2, { reason: 'released by admin' }), local: local('FORCED_OPEN', NOW - 5, NOW - 5), fresh: false, source: 'remote', state: 'CLOSED' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const v = verdictOf(c.remote, c.local, c.fresh, NOW, UNSEEN);
      expect(v.source).to.equal(c.source);
      expect(v.record.state).to.equal(c.state);
    });
  }

  it('keeps the later cool-down whoever decides', () => {
    const r = remote('CLOSED', NOW - 60_000, NOW - 1, { cooldownUntil: NOW + 100 });
    expect(verdictOf(r, local('CLOSED', NOW - 60_000, NOW - 2, { cooldownUntil: NOW + 500 }), true, NOW, UNSEEN).record.cooldownUntil).to.equal(NOW + 500);
    expect(verdictOf(r, local('OPEN', NOW - 5, NOW - 5, { cooldownUntil: NOW + 50 }), true, NOW, UNSEEN).record.cooldownUntil).to.equal(NOW + 100);
  });

  it('a local verdict routes with the aggregator\'s figures when there are any, else the local ones', () => {
    const stats = { calls: 9, failures: 1, slowCalls: 0, failureRate: 0.11, avgLatencyMs: 10, latencyEwmaMs: 10 };
    const mine = { calls: 5, failures: 5, slowCalls: 0, failureRate: 1, avgLatencyMs: 1, latencyEwmaMs: null };
    expect(verdictOf(remote('CLOSED', 0, NOW - 100, { stats }), local('OPEN', NOW - 5, NOW - 5, { stats: mine }), true, NOW, UNSEEN).record.stats).to.equal(stats);
    expect(verdictOf(null, local('OPEN', NOW - 5, NOW - 5, { stats: mine }), true, NOW, UNSEEN).record.stats).to.equal(mine);
  });

  it('an OPEN record past its open duration counts as probe-only when comparing caution', () => {
    const due = remote('OPEN', NOW - 40_000, NOW - 100, { openUntil: NOW - 10_000 });
    // probe (record) vs yes (local CLOSED): the record is more cautious.
    expect(followsRemote(due, local('CLOSED', NOW - 60_000, NOW - 2), true, NOW)).to.equal(true);
    // probe vs no (local OPEN whose open duration runs): the local breaker is more cautious.
    expect(followsRemote(due, local('OPEN', NOW - 40_000, NOW - 2, { breaker: snap('OPEN', NOW - 40_000, { openUntil: NOW + 5000 }) }), true, NOW)).to.equal(false);
  });
});
