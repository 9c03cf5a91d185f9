import { expect } from 'chai';
import { DEFAULT_BREAKER_CONFIG, createWindow, initialBreaker, windowConfigOf } from './index.js';
import { applyReportedCall, tickInstanceBreaker, type InstanceBreakerState, type ReportedCall } from './instance-breaker.js';

const C = { ...DEFAULT_BREAKER_CONFIG };
const T0 = 1_000_000;
const fresh = (): InstanceBreakerState => ({ window: createWindow(windowConfigOf(C)), breaker: initialBreaker(T0), cooldownUntil: null });
const call = (p: Partial<ReportedCall> = {}): ReportedCall => ({ success: false, latencyMs: 10, callTimestamp: T0, ...p });

describe('instance breaker step (shared by the aggregator and the api local breakers)', () => {
  const cases: { name: string; calls: Partial<ReportedCall>[]; state: string; cooling?: boolean; parked?: boolean }[] = [
    { name: 'threshold of consecutive failures opens', calls: Array(C.consecutiveFailures).fill({}), state: 'OPEN' },
    { name: 'one short of the threshold stays CLOSED', calls: Array(C.consecutiveFailures - 1).fill({}), state: 'CLOSED' },
    { name: 'a 429 cools down without counting', calls: Array(20).fill({ statusCode: 429 }), state: 'CLOSED', cooling: true },
    { name: 'the caller\'s 4xx is neutral', calls: Array(20).fill({ statusCode: 404 }), state: 'CLOSED' },
    { name: 'AUTH_INVALID parks', calls: [{ errorType: 'AUTH_INVALID' }], state: 'FORCED_OPEN', parked: true },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const s = fresh();
      let parked = false;
      for (const p of c.calls) parked = applyReportedCall(s, call(p), T0, C).parked || parked;
      expect(s.breaker.state).to.equal(c.state);
      expect(s.cooldownUntil !== null).to.equal(c.cooling ?? false);
      expect(parked).to.equal(c.parked ?? false);
    });
  }

  it('ticks OPEN to HALF_OPEN after the open duration, and a probe failure re-opens with the doubled duration', () => {
    const s = fresh();
    for (let i = 0; i < C.consecutiveFailures; i++) applyReportedCall(s, call(), T0, C);
    expect(tickInstanceBreaker(s, T0 + C.openDurationMs - 1, C)).to.equal(null);
    const t1 = T0 + C.openDurationMs;
    expect(tickInstanceBreaker(s, t1, C)?.to).to.equal('HALF_OPEN');
    expect(applyReportedCall(s, call({ callTimestamp: t1, probe: true }), t1, C).transition?.to).to.equal('OPEN');
    expect(s.breaker.openUntil).to.equal(t1 + 2 * C.openDurationMs);
  });
});
