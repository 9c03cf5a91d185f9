import { expect } from 'chai';
import { DEFAULT_BREAKER_CONFIG, initialBreaker, type BreakerConfig, type HealthRecord, type ReportedCall } from '@apg/core';
import { LocalBreakers } from './local-breakers';

const C: BreakerConfig = { ...DEFAULT_BREAKER_CONFIG, openDurationMs: 10_000 };
const T0 = 50_000_000;
const P = 'p'.repeat(32);
const UNSEEN: HealthRecord = { ...initialBreaker(0), reason: 'unseen', cooldownUntil: null, stats: null, updatedAt: 0 };
const fail = (at: number, p: Partial<ReportedCall> = {}): ReportedCall => ({ success: false, latencyMs: 5, statusCode: 503, callTimestamp: at, ...p });
const ok = (at: number, p: Partial<ReportedCall> = {}): ReportedCall => ({ success: true, latencyMs: 5, callTimestamp: at, ...p });

function feed(book: LocalBreakers, id: string, calls: ReportedCall[], opts: { remote?: HealthRecord | null; fresh?: boolean; config?: BreakerConfig } = {}): void {
  for (const call of calls) {
    book.note({ instanceId: id, projectId: P, config: opts.config ?? C, call, receivedAt: call.callTimestamp, remote: opts.remote ?? null, aggregatorFresh: opts.fresh ?? false, now: call.callTimestamp });
  }
}

describe('local breakers (one per instance this replica takes reports on)', () => {
  it('opens at the instance\'s own consecutive-failure threshold, with no aggregator at all', () => {
    const book = new LocalBreakers();
    const cfg = { ...C, consecutiveFailures: 3 };
    feed(book, 'a', [fail(T0), fail(T0 + 1)], { config: cfg });
    expect(book.verdict('a', null, false, T0 + 2, UNSEEN).record.state).to.equal('CLOSED');
    feed(book, 'a', [fail(T0 + 2)], { config: cfg });
    const v = book.verdict('a', null, false, T0 + 3, UNSEEN);
    expect(v).to.deep.include({ source: 'local' });
    expect(v.record.state).to.equal('OPEN');
    // Still out near the end of the open duration: nothing self-expires early.
    expect(book.verdict('a', null, false, T0 + 2 + C.openDurationMs - 1, UNSEEN).record.openUntil).to.be.greaterThan(T0 + C.openDurationMs);
  });

  it('holds a local OPEN while the aggregator\'s record is older, whether or not it is alive', () => {
    const book = new LocalBreakers();
    const closed: HealthRecord = { ...initialBreaker(T0 - 60_000), cooldownUntil: null, stats: null, updatedAt: T0 - 1 };
    feed(book, 'a', Array.from({ length: 5 }, (_, i) => fail(T0 + i)), { remote: closed });
    // The aggregator writes again (another replica's report) without having seen the failures yet.
    const rewritten = { ...closed, updatedAt: T0 + 100 };
    for (const fresh of [true, false]) expect(book.verdict('a', rewritten, fresh, T0 + 200, UNSEEN).record.state).to.equal('OPEN');
  });

  it('starts from the aggregator\'s record: an instance it opened stays open on this replica\'s first report', () => {
    const book = new LocalBreakers();
    const open: HealthRecord = { ...initialBreaker(T0), state: 'OPEN', openedAt: T0, openUntil: T0 + 30_000, cooldownUntil: null, stats: null, updatedAt: T0 };
    feed(book, 'a', [ok(T0 + 10, { probe: false })], { remote: open });
    // The aggregator dies; its record is behind the late success, yet the instance stays out.
    const v = book.verdict('a', open, false, T0 + 20, UNSEEN);
    expect(v.source).to.equal('local');
    expect(v.record).to.include({ state: 'OPEN', openUntil: T0 + 30_000 });
  });

  it('carries on from a followed record: ticks to HALF_OPEN and closes on its probes without the aggregator', () => {
    const book = new LocalBreakers();
    const cfg = { ...C, halfOpenProbes: 2 };
    feed(book, 'a', Array.from({ length: 5 }, (_, i) => fail(T0 + i)), { config: cfg });
    const open: HealthRecord = { ...book.verdict('a', null, false, T0 + 10, UNSEEN).record, since: T0 + 20, openedAt: T0 + 20, openUntil: T0 + 20 + cfg.openDurationMs, updatedAt: T0 + 20 };
    expect(book.verdict('a', open, true, T0 + 30, UNSEEN).source).to.equal('remote');
    const t1 = T0 + 20 + cfg.openDurationMs;
    feed(book, 'a', [ok(t1, { probe: true })], { remote: open, config: cfg });
    expect(book.verdict('a', open, false, t1 + 1, UNSEEN).record.state).to.equal('HALF_OPEN');
    feed(book, 'a', [ok(t1 + 2, { probe: true })], { remote: open, config: cfg });
    expect(book.verdict('a', open, false, t1 + 3, UNSEEN).record.state).to.equal('CLOSED');
  });

  it('a failed local probe re-opens with the doubled duration', () => {
    const book = new LocalBreakers();
    feed(book, 'a', Array.from({ length: 5 }, (_, i) => fail(T0 + i)));
    const t1 = T0 + 4 + C.openDurationMs;
    feed(book, 'a', [fail(t1, { probe: true })]);
    expect(book.verdict('a', null, false, t1 + 1, UNSEEN).record).to.include({ state: 'OPEN', reopenCount: 1, openUntil: t1 + 2 * C.openDurationMs });
  });

  it('counts a retried report (same eventId) once', () => {
    const book = new LocalBreakers();
    for (let i = 0; i < 10; i++) {
      book.note({ instanceId: 'a', projectId: P, config: C, call: fail(T0 + i), eventId: `e${i % 2 === 0 ? i : i - 1}`, receivedAt: T0 + i, remote: null, aggregatorFresh: false, now: T0 + i });
    }
    // Five distinct events, each sent twice: exactly the threshold, so OPEN; four would not be.
    expect(book.verdict('a', null, false, T0 + 20, UNSEEN).record.state).to.equal('OPEN');
    const short = new LocalBreakers();
    for (let i = 0; i < 8; i++) {
      short.note({ instanceId: 'a', projectId: P, config: C, call: fail(T0 + i), eventId: `e${Math.floor(i / 2)}`, receivedAt: T0 + i, remote: null, aggregatorFresh: false, now: T0 + i });
    }
    expect(short.verdict('a', null, false, T0 + 20, UNSEEN).record.state).to.equal('CLOSED');
  });

  it('drops entries that only repeat a live aggregator\'s CLOSED record, never one with failures in its window', () => {
    const book = new LocalBreakers();
    feed(book, 'healthy', [ok(T0), ok(T0 + 1)]);
    feed(book, 'flaky', [ok(T0), fail(T0 + 1), ok(T0 + 2)]);
    feed(book, 'ahead', [ok(T0)]);
    const agrees = (id: string) => id !== 'ahead';
    expect(book.sweep(T0 + 10, agrees)).to.equal(1);
    expect([book.has('healthy'), book.has('flaky'), book.has('ahead')]).to.deep.equal([false, true, true]);
  });

  it('drops idle settled entries and keeps open ones; never holds more than maxEntries', () => {
    const book = new LocalBreakers({ maxEntries: 3 });
    feed(book, 'quiet', [ok(T0)]);
    feed(book, 'dead', Array.from({ length: 5 }, (_, i) => fail(T0 + i)));
    expect(book.sweep(T0 + C.windowMs + 10, () => false)).to.equal(1);
    expect(book.has('quiet')).to.equal(false);
    expect(book.has('dead')).to.equal(true);
    for (const id of ['x', 'y', 'z']) feed(book, id, [ok(T0 + 100)]);
    expect(book.size).to.equal(3);
    expect(book.has('dead')).to.equal(false);
    book.forget(['x']);
    expect(book.has('x')).to.equal(false);
  });
});
