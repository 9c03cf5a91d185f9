import { expect } from 'chai';
import { DEFAULT_BREAKER_CONFIG } from '@apg/core';
import type { CallResultEvent } from '@apg/contracts';
import { parseStoredHealth, toHealthRecord } from './health-record-codec';
import { applyCall, newInstanceHealth } from './instance-health';

const ID = 'a'.repeat(32);
const PROJECT = 'b'.repeat(32);
const t0 = 10_000_000;

const event = (success: boolean, latencyMs: number, over: Partial<CallResultEvent> = {}): CallResultEvent => ({
  eventId: '00000000-0000-4000-8000-000000000000', schemaVersion: 1, projectId: PROJECT, instanceId: ID,
  apiIdentifier: 'gpt4o', apiType: 'MODEL', businessId: 'b1', success, latencyMs, callTimestamp: t0, ...over,
});

describe('health record codec', () => {
  it('publishes the breaker, the live cool-down and the window stats at write time', () => {
    const h = newInstanceHealth(ID, PROJECT, { ...DEFAULT_BREAKER_CONFIG }, t0);
    applyCall(h, event(true, 100), t0);
    applyCall(h, event(false, 6000), t0);
    // A 429 only cools down: it stays out of the window.
    applyCall(h, event(false, 50, { errorType: 'RATE_LIMITED', retryAfterMs: 2000 }), t0);
    const r = toHealthRecord(h, t0 + 10);
    expect(r).to.include({ state: 'CLOSED', cooldownUntil: t0 + 2000, updatedAt: t0 + 10 });
    expect(r.stats).to.include({ calls: 2, failures: 1, slowCalls: 1 });
    expect(r.stats!.failureRate).to.be.closeTo(1 / 2, 1e-9);
    expect(r.stats!.avgLatencyMs).to.be.closeTo(6100 / 2, 1e-9);
    expect(r.stats!.latencyEwmaMs).to.be.a('number');
    // Once passed, the cool-down is published as null.
    expect(toHealthRecord(h, t0 + 2000).cooldownUntil).to.equal(null);
  });

  it('publishes null rates without calls', () => {
    const r = toHealthRecord(newInstanceHealth(ID, PROJECT, { ...DEFAULT_BREAKER_CONFIG }, t0), t0);
    expect(r.stats).to.deep.equal({ calls: 0, failures: 0, slowCalls: 0, failureRate: null, avgLatencyMs: null, latencyEwmaMs: null });
  });

  const cases: { name: string; json: string | null; state: string | null; cooldownUntil?: number | null }[] = [
    { name: 'a full record', json: JSON.stringify({ state: 'OPEN', degraded: false, openedAt: 1, openUntil: 2, reopenCount: 1, probeSuccesses: 0, probeFailures: 0, since: 1, reason: 'x', cooldownUntil: 9, stats: null, updatedAt: 1 }), state: 'OPEN', cooldownUntil: 9 },
    { name: 'a bare snapshot of an older aggregator', json: JSON.stringify({ state: 'HALF_OPEN', since: 5, reason: 'r' }), state: 'HALF_OPEN', cooldownUntil: null },
    { name: 'a forced record written by the api', json: JSON.stringify({ state: 'FORCED_OPEN', since: 5, reason: 'forced by admin', cooldownUntil: null, stats: null, updatedAt: 5 }), state: 'FORCED_OPEN', cooldownUntil: null },
    { name: 'an unknown state', json: JSON.stringify({ state: 'WEIRD' }), state: null },
    { name: 'malformed JSON', json: '{nope', state: null },
    { name: 'nothing', json: null, state: null },
    { name: 'an array', json: '[1]', state: null },
  ];
  for (const c of cases) {
    it(`parses ${c.name}`, () => {
      const s = parseStoredHealth(c.json);
      expect(s?.breaker.state ?? null).to.equal(c.state);
      if (s) expect(s.cooldownUntil).to.equal(c.cooldownUntil);
    });
  }
});
