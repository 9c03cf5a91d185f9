import { expect } from 'chai';
import { decodeAggregatorHeartbeat, encodeAggregatorHeartbeat } from '@apg/contracts';
import { HEARTBEAT_MAX_BATCH_MS, heartbeatOf, readinessOf } from './heartbeat';

describe('aggregator readiness and heartbeat', () => {
  const cases: { name: string; partitions: number; oldestBatchMs: number; oldestEventMs?: number; ready: { assigned: boolean; batches: boolean; events?: boolean }; beats: boolean }[] = [
    { name: 'before the first assignment', partitions: 0, oldestBatchMs: 0, ready: { assigned: false, batches: true }, beats: false },
    { name: 'holding partitions, idle', partitions: 3, oldestBatchMs: 0, ready: { assigned: true, batches: true }, beats: true },
    { name: 'a batch in progress for a moment', partitions: 3, oldestBatchMs: 50, ready: { assigned: true, batches: true }, beats: true },
    { name: 'a batch held past the heartbeat limit but not the readiness one', partitions: 3, oldestBatchMs: HEARTBEAT_MAX_BATCH_MS + 1, ready: { assigned: true, batches: true }, beats: false },
    { name: 'a batch held past the readiness threshold', partitions: 3, oldestBatchMs: 10_001, ready: { assigned: true, batches: false }, beats: false },
    { name: 'no partitions and a held batch (evicted while stalled)', partitions: 0, oldestBatchMs: 60_000, ready: { assigned: false, batches: false }, beats: false },
    { name: 'events waiting, but under the threshold', partitions: 3, oldestBatchMs: 0, oldestEventMs: 30_000, ready: { assigned: true, batches: true }, beats: true },
    { name: 'events waited past the threshold behind a stuck group commit', partitions: 3, oldestBatchMs: 0, oldestEventMs: 30_001, ready: { assigned: true, batches: true, events: false }, beats: false },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const s = { partitions: c.partitions, oldestBatchMs: c.oldestBatchMs, maxHeldMs: 10_000, oldestEventMs: c.oldestEventMs ?? 0, maxEventAgeMs: 30_000 };
      expect(readinessOf(s)).to.deep.equal({ events: true, ...c.ready });
      const beat = heartbeatOf({ ...s, now: 1_700_000_000_000.4, member: 'host:1' });
      expect(beat !== null).to.equal(c.beats);
      if (beat) expect(decodeAggregatorHeartbeat(encodeAggregatorHeartbeat(beat))).to.deep.equal({ at: 1_700_000_000_000, member: 'host:1', partitions: c.partitions });
    });
  }

  it('keeps the member name within the contract', () => {
    const beat = heartbeatOf({ partitions: 1, oldestBatchMs: 0, maxHeldMs: 10_000, oldestEventMs: 0, maxEventAgeMs: 30_000, now: 1, member: 'x'.repeat(1000) });
    expect(decodeAggregatorHeartbeat(encodeAggregatorHeartbeat(beat!))?.member).to.have.length(256);
  });
});
