import { expect } from 'chai';
import { C, FAIL, NEUTRAL, NOW, OK, halfOpen, open, snap, stats } from './breaker-test-fixtures.js';
import { createWindow, initialBreaker, onCallResult, onTick, probeHoldMs, recordCall, resetWindow, windowStats } from './index.js';
import type { BreakerResult, BreakerSnapshot, BreakerState, BreakerStats, CallOutcome } from './index.js';

describe('breaker', () => {
  it('defaults match the architecture table', () => {
    expect(C).to.deep.equal({
      windowMs: 60_000,
      minCalls: 10,
      failureRateThreshold: 0.5,
      consecutiveFailures: 5,
      openDurationMs: 30_000,
      maxOpenDurationMs: 300_000,
      halfOpenProbes: 3,
      slowCallMs: 5_000,
      slowCallRateThreshold: 0.8,
    });
    expect(initialBreaker(7)).to.include({ state: 'CLOSED', degraded: false, reopenCount: 0, since: 7 });
  });

  describe('CLOSED: onCallResult with given stats', () => {
    interface Case {
      name: string;
      from?: Partial<BreakerSnapshot>;
      stats: Partial<BreakerStats>;
      call?: CallOutcome;
      state: BreakerState;
      reason?: string;
      degraded?: boolean;
      degradedChanged?: boolean;
    }
    const cases: Case[] = [
      { name: 'rate exactly at threshold opens', stats: { calls: 10, failureRate: 0.5 }, state: 'OPEN', reason: 'failure_rate 0.50 >= 0.50 over 10 calls' },
      { name: 'rate above threshold opens', stats: { calls: 12, failureRate: 0.6 }, state: 'OPEN', reason: 'failure_rate 0.60 >= 0.50 over 12 calls' },
      { name: 'rate just below threshold stays closed', stats: { calls: 100, failureRate: 0.49 }, state: 'CLOSED' },
      { name: 'below minCalls stays closed whatever the rate', stats: { calls: 9, failureRate: 1, consecutiveFailures: 4 }, state: 'CLOSED' },
      { name: 'consecutive failures open below minCalls', stats: { calls: 5, failureRate: 1, consecutiveFailures: 5 }, state: 'OPEN', reason: '5 consecutive failures' },
      { name: 'one short of consecutive failures stays closed', stats: { calls: 4, failureRate: 1, consecutiveFailures: 4 }, state: 'CLOSED' },
      { name: 'rate reason wins when both hold', stats: { calls: 10, failureRate: 0.7, consecutiveFailures: 7 }, state: 'OPEN', reason: 'failure_rate 0.70 >= 0.50 over 10 calls' },
      { name: 'a success can trip when the window reaches minCalls', stats: { calls: 10, failureRate: 0.5 }, call: OK, state: 'OPEN' },
      { name: 'degraded on at the slow-call threshold', stats: { calls: 10, slowCallRate: 0.8 }, call: OK, state: 'CLOSED', degraded: true, degradedChanged: true },
      { name: 'degraded needs minCalls', stats: { calls: 9, slowCallRate: 1 }, call: OK, state: 'CLOSED', degraded: false, degradedChanged: false },
      { name: 'degraded off below the threshold', from: { degraded: true }, stats: { calls: 10, slowCallRate: 0.79 }, call: OK, state: 'CLOSED', degraded: false, degradedChanged: true },
      { name: 'degraded stays on', from: { degraded: true }, stats: { calls: 20, slowCallRate: 0.9 }, call: OK, state: 'CLOSED', degraded: true, degradedChanged: false },
      { name: 'opening clears degraded', from: { degraded: true }, stats: { calls: 10, failureRate: 1, slowCallRate: 1 }, state: 'OPEN', degraded: false, degradedChanged: true },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const from = snap(c.from);
        const r = onCallResult(from, stats(c.stats), c.call ?? FAIL, NOW, C);
        expect(r.snapshot.state).to.equal(c.state);
        if (c.degraded !== undefined) expect(r.snapshot.degraded).to.equal(c.degraded);
        if (c.degradedChanged !== undefined) expect(r.degradedChanged).to.equal(c.degradedChanged);
        expect(r.resetWindow).to.equal(false);
        if (c.state === 'CLOSED') {
          expect(r.transition).to.equal(null);
          return;
        }
        expect(r.transition).to.deep.equal({ from: 'CLOSED', to: 'OPEN', at: NOW, reason: c.reason ?? r.snapshot.reason });
        expect(r.snapshot).to.include({ openedAt: NOW, openUntil: NOW + 30_000, reopenCount: 0, since: NOW });
      });
    }
  });

  describe('CLOSED: driven through a real window (1 call per second)', () => {
    /** S success, F failure, L slow success (6 s), N unsuccessful but not counted (caller's 4xx). */
    const cases: { seq: string; state: BreakerState; reasons: string[]; degraded?: boolean; degradedChanges?: number }[] = [
      { seq: 'SFSFSFSFSF', state: 'OPEN', reasons: ['failure_rate 0.50 >= 0.50 over 10 calls'] },
      { seq: 'SFSFSFSFSS', state: 'CLOSED', reasons: [] },
      { seq: 'SFSFSFSF', state: 'CLOSED', reasons: [] },
      { seq: 'FFFFF', state: 'OPEN', reasons: ['5 consecutive failures'] },
      { seq: 'FFFFSFFFF', state: 'CLOSED', reasons: [] },
      { seq: 'FFFFNF', state: 'OPEN', reasons: ['5 consecutive failures'] },
      { seq: 'LLLLLLLLSS', state: 'CLOSED', reasons: [], degraded: true, degradedChanges: 1 },
      { seq: 'LLLLLLLSSS', state: 'CLOSED', reasons: [], degraded: false, degradedChanges: 0 },
      { seq: 'LLLLLLLLSSS', state: 'CLOSED', reasons: [], degraded: false, degradedChanges: 2 },
    ];
    for (const c of cases) {
      it(c.seq, () => {
        const wc = { windowMs: C.windowMs, bucketMs: 5_000, slowCallMs: C.slowCallMs };
        const w = createWindow(wc);
        let s = initialBreaker(0);
        const reasons: string[] = [];
        let degradedChanges = 0;
        [...c.seq].forEach((ch, i) => {
          const now = 1_000 * (i + 1);
          const call = { success: ch === 'S' || ch === 'L', countsAsFailure: ch === 'F' };
          recordCall(w, { at: now, latencyMs: ch === 'L' ? 6_000 : 100, ...call }, wc);
          const r = onCallResult(s, windowStats(w, now, wc), call, now, C);
          if (r.transition) reasons.push(r.transition.reason);
          if (r.degradedChanged) degradedChanges += 1;
          s = r.snapshot;
        });
        expect(s.state).to.equal(c.state);
        expect(reasons).to.deep.equal(c.reasons);
        if (c.degraded !== undefined) expect(s.degraded).to.equal(c.degraded);
        if (c.degradedChanges !== undefined) expect(degradedChanges).to.equal(c.degradedChanges);
      });
    }
  });

  describe('onTick', () => {
    const cases: { name: string; from: BreakerSnapshot; now: number; to: BreakerState | null }[] = [
      { name: 'OPEN stays open just before openUntil', from: open({ openUntil: 31_000 }), now: 30_999, to: null },
      { name: 'OPEN → HALF_OPEN at exactly openUntil', from: open({ openUntil: 31_000 }), now: 31_000, to: 'HALF_OPEN' },
      { name: 'OPEN → HALF_OPEN well after openUntil', from: open({ openUntil: 31_000 }), now: 999_999, to: 'HALF_OPEN' },
      { name: 'OPEN without openUntil (corrupt) → HALF_OPEN', from: open({ openUntil: null }), now: 0, to: 'HALF_OPEN' },
      { name: 'CLOSED ignores ticks', from: snap(), now: 1e12, to: null },
      { name: 'HALF_OPEN ignores ticks', from: halfOpen({ probeSuccesses: 1 }), now: 1e12, to: null },
      { name: 'FORCED_OPEN ignores ticks', from: snap({ state: 'FORCED_OPEN', openedAt: 0 }), now: 1e12, to: null },
      { name: 'FORCED_CLOSED ignores ticks', from: snap({ state: 'FORCED_CLOSED' }), now: 1e12, to: null },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const r = onTick(c.from, c.now, C);
        if (c.to === null) {
          expect(r.transition).to.equal(null);
          expect(r.snapshot).to.equal(c.from);
          return;
        }
        expect(r.transition).to.deep.equal({ from: 'OPEN', to: c.to, at: c.now, reason: 'open duration elapsed' });
        expect(r.snapshot).to.include({ state: c.to, openUntil: null, probeSuccesses: 0, probeFailures: 0, since: c.now });
        expect(r.snapshot.reopenCount).to.equal(c.from.reopenCount);
      });
    }
  });

  describe('OPEN ignores late reports', () => {
    const cases: { name: string; call: CallOutcome; stats: Partial<BreakerStats> }[] = [
      { name: 'failure', call: FAIL, stats: { calls: 50, failureRate: 1, consecutiveFailures: 50 } },
      { name: 'success', call: OK, stats: { calls: 50, slowCallRate: 1 } },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const from = open();
        const r = onCallResult(from, stats(c.stats), c.call, NOW, C);
        expect(r).to.deep.equal({ snapshot: from, transition: null, degradedChanged: false, resetWindow: false });
      });
    }
  });

  describe('HALF_OPEN: probes', () => {
    interface Case {
      name: string;
      from: BreakerSnapshot;
      probes: CallOutcome[];
      config?: { halfOpenProbes: number };
      state: BreakerState;
      reason?: string;
      reopenCount: number;
      openForMs?: number;
      probeSuccesses?: number;
    }
    const cases: Case[] = [
      { name: 'all probes succeed → CLOSED, backoff reset', from: halfOpen({ reopenCount: 2 }), probes: [OK, OK, OK], state: 'CLOSED', reason: 'probes succeeded 3/3', reopenCount: 0 },
      { name: 'two of three → still HALF_OPEN', from: halfOpen(), probes: [OK, OK], state: 'HALF_OPEN', reopenCount: 0, probeSuccesses: 2 },
      { name: 'failure after a success → OPEN for 60 s', from: halfOpen(), probes: [OK, FAIL], state: 'OPEN', reason: 'probe failed', reopenCount: 1, openForMs: 60_000 },
      { name: 'second re-open in a row → 120 s', from: halfOpen({ reopenCount: 1 }), probes: [FAIL], state: 'OPEN', reason: 'probe failed', reopenCount: 2, openForMs: 120_000 },
      { name: 'fourth re-open capped at 300 s', from: halfOpen({ reopenCount: 3 }), probes: [FAIL], state: 'OPEN', reason: 'probe failed', reopenCount: 4, openForMs: 300_000 },
      { name: 'long streak stays capped', from: halfOpen({ reopenCount: 60 }), probes: [FAIL], state: 'OPEN', reopenCount: 61, openForMs: 300_000 },
      { name: 'success counted as failure re-opens', from: halfOpen(), probes: [{ success: true, countsAsFailure: true }], state: 'OPEN', reopenCount: 1, openForMs: 60_000 },
      { name: "caller's 4xx consumes no probe", from: halfOpen(), probes: [OK, NEUTRAL, OK], state: 'HALF_OPEN', reopenCount: 0, probeSuccesses: 2 },
      { name: "caller's 4xx then the last probe closes", from: halfOpen(), probes: [OK, NEUTRAL, OK, OK], state: 'CLOSED', reopenCount: 0 },
      { name: 'late non-probe failure is ignored', from: halfOpen({ probeSuccesses: 1 }), probes: [{ success: false, probe: false }], state: 'HALF_OPEN', reopenCount: 0, probeSuccesses: 1 },
      { name: 'late non-probe success is not a probe', from: halfOpen(), probes: [{ success: true, probe: false }], state: 'HALF_OPEN', reopenCount: 0, probeSuccesses: 0 },
      { name: 'halfOpenProbes 1: one success closes', from: halfOpen(), probes: [OK], config: { halfOpenProbes: 1 }, state: 'CLOSED', reason: 'probes succeeded 1/1', reopenCount: 0 },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const config = { ...C, ...c.config };
        let r: BreakerResult = { snapshot: c.from, transition: null, degradedChanged: false, resetWindow: false };
        for (const probe of c.probes) {
          // Window stats are irrelevant in HALF_OPEN: give ones that would trip a CLOSED breaker.
          r = onCallResult(Object.freeze(r.snapshot), stats({ calls: 99, failureRate: 1 }), probe, NOW, config);
        }
        expect(r.snapshot.state).to.equal(c.state);
        expect(r.snapshot.reopenCount).to.equal(c.reopenCount);
        if (c.reason !== undefined) expect(r.snapshot.reason).to.equal(c.reason);
        if (c.probeSuccesses !== undefined) expect(r.snapshot.probeSuccesses).to.equal(c.probeSuccesses);
        if (c.state === 'HALF_OPEN') {
          expect(r.transition).to.equal(null);
          return;
        }
        expect(r.transition).to.deep.include({ from: 'HALF_OPEN', to: c.state, at: NOW });
        expect(r.resetWindow).to.equal(c.state === 'CLOSED');
        expect(r.snapshot).to.include({ probeSuccesses: 0, probeFailures: 0, since: NOW });
        if (c.openForMs !== undefined) expect(r.snapshot).to.include({ openedAt: NOW, openUntil: NOW + c.openForMs });
      });
    }
  });

  describe('full cycle through a real window', () => {
    it('backs off 30 s, 60 s, 120 s, 240 s, 300 s, 300 s, then closes, resets the window and starts over at 30 s', () => {
      const wc = { windowMs: C.windowMs, bucketMs: 5_000, slowCallMs: C.slowCallMs };
      const w = createWindow(wc);
      let s = initialBreaker(0);
      let now = 0;
      const report = (success: boolean): void => {
        recordCall(w, { at: now, success, latencyMs: 50 }, wc);
        const r = onCallResult(s, windowStats(w, now, wc), { success }, now, C);
        if (r.resetWindow) resetWindow(w, now);
        s = r.snapshot;
      };
      for (let i = 0; i < 5; i++) report(false);
      expect(s.state).to.equal('OPEN');
      const durations: number[] = [];
      for (let round = 0; round < 6; round++) {
        const until = s.openUntil ?? Number.NaN;
        durations.push(until - now);
        expect(onTick(s, until - 1, C).transition, 'not before openUntil').to.equal(null);
        now = until;
        s = onTick(s, now, C).snapshot;
        expect(s.state).to.equal('HALF_OPEN');
        report(false);
      }
      expect(durations).to.deep.equal([30_000, 60_000, 120_000, 240_000, 300_000, 300_000]);

      now = s.openUntil ?? Number.NaN;
      s = onTick(s, now, C).snapshot;
      for (let i = 0; i < 3; i++) report(true);
      expect(s).to.include({ state: 'CLOSED', reopenCount: 0 });
      // The failures that opened it were cleared: 4 failures in a row no longer trip, the 5th does, for 30 s.
      for (let i = 0; i < 4; i++) report(false);
      expect(s.state).to.equal('CLOSED');
      report(false);
      expect(s).to.include({ state: 'OPEN', openUntil: now + 30_000, reason: '5 consecutive failures' });
    });

    it('closing after a rate trip does not re-open on the stale window', () => {
      const wc = { windowMs: C.windowMs, bucketMs: 5_000, slowCallMs: C.slowCallMs };
      const w = createWindow(wc);
      let s = initialBreaker(0);
      let closedWithStaleRate = Number.NaN;
      const report = (now: number, success: boolean): void => {
        recordCall(w, { at: now, success, latencyMs: 50 }, wc);
        const r = onCallResult(s, windowStats(w, now, wc), { success }, now, C);
        if (r.resetWindow) {
          closedWithStaleRate = windowStats(w, now, wc).failureRate;
          resetWindow(w, now);
        }
        s = r.snapshot;
      };
      [...'FFFFSFFFFS'].forEach((ch, i) => report(100 * i, ch === 'S'));
      expect(s).to.include({ state: 'OPEN', reason: 'failure_rate 0.80 >= 0.50 over 10 calls' });
      s = onTick(s, s.openUntil ?? Number.NaN, C).snapshot;
      for (const at of [31_000, 31_100, 31_200]) report(at, true);
      expect(s.state).to.equal('CLOSED');
      expect(closedWithStaleRate).to.be.greaterThan(0.5); // 8/13: would re-open on any report
      report(31_300, true);
      report(31_400, false);
      expect(s.state).to.equal('CLOSED');
      expect(windowStats(w, 31_400, wc)).to.include({ calls: 2, failures: 1 });
    });
  });
});

describe('probeHoldMs: how long a settled probe keeps its slot', () => {
  const cases: { name: string; state: BreakerState; openUntil: number | null; want: number }[] = [
    { name: 'reopened: until openUntil', state: 'OPEN', openUntil: NOW + 4000, want: 4000 },
    { name: 'OPEN past openUntil: not at all', state: 'OPEN', openUntil: NOW - 1, want: 0 },
    { name: 'OPEN without openUntil (corrupt): not at all', state: 'OPEN', openUntil: null, want: 0 },
    { name: 'still probing', state: 'HALF_OPEN', openUntil: null, want: 0 },
    { name: 'closed by the probes', state: 'CLOSED', openUntil: null, want: 0 },
    { name: 'pinned open by an admin', state: 'FORCED_OPEN', openUntil: null, want: 0 },
  ];
  for (const c of cases) {
    it(c.name, () => expect(probeHoldMs({ state: c.state, openUntil: c.openUntil }, NOW)).to.equal(c.want));
  }
});
