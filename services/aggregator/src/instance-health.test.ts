import { expect } from 'chai';
import { DEFAULT_BREAKER_CONFIG } from '@apg/core';
import type { CallResultEvent } from '@apg/contracts';
import { applyCall, applyTick, newInstanceHealth } from './instance-health';

const ID = 'a'.repeat(32);
const PROJECT = 'b'.repeat(32);
const config = { ...DEFAULT_BREAKER_CONFIG };

const event = (success: boolean, at: number, latencyMs = 100): CallResultEvent => ({
  eventId: '00000000-0000-4000-8000-000000000000',
  schemaVersion: 1,
  projectId: PROJECT,
  instanceId: ID,
  apiIdentifier: 'gpt4o',
  apiType: 'MODEL',
  businessId: 'b1',
  success,
  latencyMs,
  callTimestamp: at,
});

describe('aggregator instance health (window + breaker)', () => {
  const cases: { name: string; calls: boolean[]; expectState: string; expectTransitions: number }[] = [
    { name: '4 failures stay CLOSED', calls: [false, false, false, false], expectState: 'CLOSED', expectTransitions: 0 },
    { name: '5 consecutive failures open', calls: [false, false, false, false, false], expectState: 'OPEN', expectTransitions: 1 },
    { name: 'a success breaks the streak', calls: [false, false, false, false, true, false, false, false, false], expectState: 'CLOSED', expectTransitions: 0 },
    { name: '10 calls at 50 % failures open', calls: [true, false, true, false, true, false, true, false, true, false], expectState: 'OPEN', expectTransitions: 1 },
    { name: '10 calls at 40 % failures stay closed', calls: [true, false, true, false, true, false, true, true, true, false], expectState: 'CLOSED', expectTransitions: 0 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const t0 = 1_000_000;
      const h = newInstanceHealth(ID, PROJECT, config, t0);
      let transitions = 0;
      c.calls.forEach((ok, i) => {
        if (applyCall(h, event(ok, t0 + i), t0 + i, config).transition) transitions++;
      });
      expect(h.breaker.state).to.equal(c.expectState);
      expect(transitions).to.equal(c.expectTransitions);
    });
  }

  it('records a call reported with a future timestamp at the current time', () => {
    const t0 = 2_000_000;
    const h = newInstanceHealth(ID, PROJECT, config, t0);
    applyCall(h, event(false, t0 + 10 * 60_000), t0, config);
    expect(h.window.consecutiveFailures).to.equal(1);
  });

  it('moves OPEN to HALF_OPEN only once the open duration passed, then closes after the probes', () => {
    const t0 = 3_000_000;
    const h = newInstanceHealth(ID, PROJECT, config, t0);
    for (let i = 0; i < 5; i++) applyCall(h, event(false, t0), t0, config);
    expect(h.breaker.state).to.equal('OPEN');
    expect(applyTick(h, t0 + config.openDurationMs - 1, config).transition).to.equal(null);
    const t1 = t0 + config.openDurationMs;
    expect(applyTick(h, t1, config).transition?.to).to.equal('HALF_OPEN');
    for (let i = 0; i < config.halfOpenProbes; i++) applyCall(h, event(true, t1 + i), t1 + i, config);
    expect(h.breaker.state).to.equal('CLOSED');
    // The failures that opened it were forgotten when it closed: one more failure does not re-open it.
    applyCall(h, event(false, t1 + 10), t1 + 10, config);
    expect(h.breaker.state).to.equal('CLOSED');
  });
});
