import { expect } from 'chai';
import { C, FAIL, NOW, OK, halfOpen, open, snap, stats } from './breaker-test-fixtures.js';
import { force, isRoutable, onCallResult, onTick } from './index.js';
import type { BreakerResult, BreakerSnapshot, BreakerState, ForceMode, Routability } from './index.js';

describe('breaker admin and routability', () => {
  describe('force', () => {
    const cases: { name: string; from: BreakerSnapshot; mode: ForceMode; to: BreakerState | null; reason?: string }[] = [
      { name: 'CLOSED → FORCED_OPEN', from: snap({ degraded: true }), mode: 'FORCED_OPEN', to: 'FORCED_OPEN', reason: 'forced by admin' },
      { name: 'OPEN → FORCED_CLOSED', from: open({ reopenCount: 3 }), mode: 'FORCED_CLOSED', to: 'FORCED_CLOSED', reason: 'forced by admin' },
      { name: 'HALF_OPEN → FORCED_OPEN', from: halfOpen({ probeSuccesses: 2 }), mode: 'FORCED_OPEN', to: 'FORCED_OPEN', reason: 'forced by admin' },
      { name: 'FORCED_OPEN → FORCED_CLOSED', from: snap({ state: 'FORCED_OPEN', openedAt: 0 }), mode: 'FORCED_CLOSED', to: 'FORCED_CLOSED', reason: 'forced by admin' },
      { name: 'FORCED_OPEN again is a no-op', from: snap({ state: 'FORCED_OPEN', openedAt: 0 }), mode: 'FORCED_OPEN', to: null },
      { name: 'FORCED_CLOSED again is a no-op', from: snap({ state: 'FORCED_CLOSED' }), mode: 'FORCED_CLOSED', to: null },
      { name: 'AUTO from FORCED_OPEN → CLOSED', from: snap({ state: 'FORCED_OPEN', openedAt: 0, reopenCount: 2 }), mode: 'AUTO', to: 'CLOSED', reason: 'released by admin' },
      { name: 'AUTO from FORCED_CLOSED → CLOSED', from: snap({ state: 'FORCED_CLOSED' }), mode: 'AUTO', to: 'CLOSED', reason: 'released by admin' },
      { name: 'AUTO on CLOSED is a no-op', from: snap({ degraded: true }), mode: 'AUTO', to: null },
      { name: 'AUTO on OPEN is a no-op', from: open(), mode: 'AUTO', to: null },
      { name: 'AUTO on HALF_OPEN is a no-op', from: halfOpen({ probeSuccesses: 1 }), mode: 'AUTO', to: null },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const r = force(c.from, c.mode, NOW);
        if (c.to === null) {
          expect(r).to.deep.equal({ snapshot: c.from, transition: null, degradedChanged: false, resetWindow: false });
          return;
        }
        expect(r.transition).to.deep.equal({ from: c.from.state, to: c.to, at: NOW, reason: c.reason });
        expect(r.snapshot).to.deep.equal({
          state: c.to,
          degraded: false,
          openedAt: c.to === 'FORCED_OPEN' ? NOW : null,
          openUntil: null,
          reopenCount: 0,
          probeSuccesses: 0,
          probeFailures: 0,
          since: NOW,
          reason: c.reason,
        });
        expect(r.degradedChanged).to.equal(c.from.degraded);
        expect(r.resetWindow).to.equal(c.to === 'CLOSED');
      });
    }
  });

  describe('forced states ignore results and ticks', () => {
    const states: BreakerSnapshot[] = [snap({ state: 'FORCED_OPEN', openedAt: 0 }), snap({ state: 'FORCED_CLOSED' })];
    const events: { name: string; apply: (s: BreakerSnapshot) => BreakerResult }[] = [
      { name: 'failure tripping every rule', apply: (s) => onCallResult(s, stats({ calls: 99, failureRate: 1, consecutiveFailures: 99 }), FAIL, NOW, C) },
      { name: 'all-slow successes', apply: (s) => onCallResult(s, stats({ calls: 99, slowCallRate: 1 }), OK, NOW, C) },
      { name: 'probe-like success', apply: (s) => onCallResult(s, stats({ calls: 1 }), { success: true, probe: true }, NOW, C) },
      { name: 'tick far in the future', apply: (s) => onTick(s, 1e15, C) },
    ];
    for (const s of states) {
      for (const e of events) {
        it(`${s.state}: ${e.name}`, () => {
          expect(e.apply(s)).to.deep.equal({ snapshot: s, transition: null, degradedChanged: false, resetWindow: false });
        });
      }
    }
  });

  describe('isRoutable', () => {
    const cases: { name: string; from: BreakerSnapshot; now: number; expect: Routability }[] = [
      { name: 'CLOSED', from: snap(), now: NOW, expect: 'yes' },
      { name: 'CLOSED and degraded (ranked last elsewhere)', from: snap({ degraded: true }), now: NOW, expect: 'yes' },
      { name: 'FORCED_CLOSED', from: snap({ state: 'FORCED_CLOSED' }), now: NOW, expect: 'yes' },
      { name: 'HALF_OPEN needs a probe permit', from: halfOpen(), now: NOW, expect: 'probe' },
      { name: 'OPEN before openUntil', from: open({ openUntil: NOW + 1 }), now: NOW, expect: 'no' },
      { name: 'OPEN at openUntil is effectively half-open', from: open({ openUntil: NOW }), now: NOW, expect: 'probe' },
      { name: 'OPEN after openUntil', from: open({ openUntil: NOW - 1 }), now: NOW, expect: 'probe' },
      { name: 'FORCED_OPEN', from: snap({ state: 'FORCED_OPEN', openedAt: 0 }), now: 1e15, expect: 'no' },
    ];
    for (const c of cases) {
      it(c.name, () => expect(isRoutable(c.from, c.now)).to.equal(c.expect));
    }
  });
});
