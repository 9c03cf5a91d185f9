import { expect } from 'chai';
import { DEFAULT_BREAKER_CONFIG, initialBreaker, type BreakerConfig } from '@apg/core';
import type { CallResultEvent } from '@apg/contracts';
import { adoptStored, applyCall, applyTick, newInstanceHealth, windowConfigOf, writeModeOf } from './instance-health';

const ID = 'a'.repeat(32);
const PROJECT = 'b'.repeat(32);
const config: BreakerConfig = { ...DEFAULT_BREAKER_CONFIG };

const event = (success: boolean, at: number, over: Partial<CallResultEvent> = {}): CallResultEvent => ({
  eventId: '00000000-0000-4000-8000-000000000000',
  schemaVersion: 1,
  projectId: PROJECT,
  instanceId: ID,
  apiIdentifier: 'gpt4o',
  apiType: 'MODEL',
  businessId: 'b1',
  success,
  latencyMs: 100,
  callTimestamp: at,
  ...over,
});

type Call = boolean | Partial<CallResultEvent>;
const toEvent = (c: Call, at: number): CallResultEvent => (typeof c === 'boolean' ? event(c, at) : event(false, at, c));

describe('aggregator instance health (window + breaker)', () => {
  const cases: { name: string; calls: Call[]; cfg?: Partial<BreakerConfig>; state: string; transitions: number; cooldown?: boolean }[] = [
    { name: '4 failures stay CLOSED', calls: [false, false, false, false], state: 'CLOSED', transitions: 0 },
    { name: '5 consecutive failures open', calls: [false, false, false, false, false], state: 'OPEN', transitions: 1 },
    { name: 'a success breaks the streak', calls: [false, false, false, false, true, false, false, false, false], state: 'CLOSED', transitions: 0 },
    { name: '10 calls at 50 % failures open', calls: [true, false, true, false, true, false, true, false, true, false], state: 'OPEN', transitions: 1 },
    { name: '10 calls at 40 % failures stay closed', calls: [true, false, true, false, true, false, true, true, true, false], state: 'CLOSED', transitions: 0 },
    { name: '20 rate limits with retry-after cool down, never open', calls: Array(20).fill({ errorType: 'RATE_LIMITED', retryAfterMs: 30_000 }), state: 'CLOSED', transitions: 0, cooldown: true },
    { name: '20 status 429 cool down, never open', calls: Array(20).fill({ statusCode: 429 }), state: 'CLOSED', transitions: 0, cooldown: true },
    { name: '20 caller 4xx stay CLOSED', calls: Array(20).fill({ errorType: 'CLIENT_4XX', statusCode: 400 }), state: 'CLOSED', transitions: 0 },
    { name: 'caller 4xx do not break a failure streak', calls: [false, false, { statusCode: 404 }, false, false, false], state: 'OPEN', transitions: 1 },
    { name: 'one auth failure parks', calls: [{ errorType: 'AUTH_INVALID', statusCode: 401 }], state: 'FORCED_OPEN', transitions: 1 },
    { name: 'status 403 parks', calls: [{ statusCode: 403 }], state: 'FORCED_OPEN', transitions: 1 },
    { name: 'auth failure on an OPEN breaker parks it too', calls: [false, false, false, false, false, { errorType: 'AUTH_INVALID' }], state: 'FORCED_OPEN', transitions: 2 },
    { name: 'unknown classes count', calls: Array(5).fill({ errorType: 'SOMETHING_NEW' }), state: 'OPEN', transitions: 1 },
    { name: 'minCalls 3 from the instance config opens at 3 failures', calls: [false, false, false], cfg: { minCalls: 3 }, state: 'OPEN', transitions: 1 },
    { name: 'consecutiveFailures 2 from the instance config', calls: [true, false, false], cfg: { consecutiveFailures: 2 }, state: 'OPEN', transitions: 1 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const t0 = 1_000_000;
      const h = newInstanceHealth(ID, PROJECT, { ...config, ...c.cfg }, t0);
      let transitions = 0;
      c.calls.forEach((call, i) => {
        const r = applyCall(h, toEvent(call, t0 + i), t0 + i);
        transitions += (r.tick ? 1 : 0) + (r.transition ? 1 : 0);
      });
      expect(h.breaker.state).to.equal(c.state);
      expect(transitions).to.equal(c.transitions);
      expect(h.cooldownUntil !== null).to.equal(c.cooldown ?? false);
    });
  }

  it('keeps the latest cool-down (the max), computed from the call time', () => {
    const t0 = 5_000_000;
    const h = newInstanceHealth(ID, PROJECT, config, t0);
    applyCall(h, event(false, t0, { errorType: 'RATE_LIMITED', retryAfterMs: 10_000 }), t0 + 5);
    applyCall(h, event(false, t0 + 1, { errorType: 'RATE_LIMITED', retryAfterMs: 1_000 }), t0 + 5);
    expect(h.cooldownUntil).to.equal(t0 + 10_000);
    // A call time in the future is taken as now.
    applyCall(h, event(false, t0 + 60_000, { errorType: 'RATE_LIMITED', retryAfterMs: 20_000 }), t0 + 6);
    expect(h.cooldownUntil).to.equal(t0 + 6 + 20_000);
  });

  it('parks with the class reason and leaves an admin-forced breaker alone', () => {
    const t0 = 6_000_000;
    const h = newInstanceHealth(ID, PROJECT, config, t0);
    const { tick, transition } = applyCall(h, event(false, t0, { errorType: 'AUTH_INVALID' }), t0);
    expect(tick).to.equal(null);
    expect(transition).to.include({ from: 'CLOSED', to: 'FORCED_OPEN' });
    expect(transition!.reason).to.match(/AUTH_INVALID/);
    expect(h.breaker.reason).to.equal(transition!.reason);
    expect(h.pendingPark).to.equal(true);
    expect(writeModeOf(h)).to.equal('normal');
    h.pendingPark = false;
    expect(writeModeOf(h)).to.equal('keep');

    const pinned = newInstanceHealth(ID, PROJECT, config, t0);
    pinned.breaker = { ...initialBreaker(t0), state: 'FORCED_CLOSED', reason: 'forced by admin' };
    expect(applyCall(pinned, event(false, t0, { statusCode: 401 }), t0)).to.deep.equal({ tick: null, transition: null });
    expect(pinned.breaker.state).to.equal('FORCED_CLOSED');
  });

  it('ignores a late report in HALF_OPEN that was not a probe', () => {
    const t0 = 7_000_000;
    const h = newInstanceHealth(ID, PROJECT, config, t0);
    for (let i = 0; i < 5; i++) applyCall(h, event(false, t0), t0);
    const t1 = t0 + config.openDurationMs;
    applyTick(h, t1);
    expect(h.breaker.state).to.equal('HALF_OPEN');
    expect(applyCall(h, event(false, t1, { probe: false }), t1)).to.deep.equal({ tick: null, transition: null });
    expect(applyCall(h, event(false, t1, { probe: true }), t1).transition?.to).to.equal('OPEN');
  });

  it('records a call reported with a future timestamp at the current time', () => {
    const t0 = 2_000_000;
    const h = newInstanceHealth(ID, PROJECT, config, t0);
    applyCall(h, event(false, t0 + 10 * 60_000), t0);
    expect(h.window.consecutiveFailures).to.equal(1);
  });

  it('moves OPEN to HALF_OPEN only once the open duration passed, then closes after the probes', () => {
    const t0 = 3_000_000;
    const h = newInstanceHealth(ID, PROJECT, config, t0);
    for (let i = 0; i < 5; i++) applyCall(h, event(false, t0), t0);
    expect(h.breaker.state).to.equal('OPEN');
    expect(applyTick(h, t0 + config.openDurationMs - 1).transition).to.equal(null);
    const t1 = t0 + config.openDurationMs;
    expect(applyTick(h, t1).transition?.to).to.equal('HALF_OPEN');
    for (let i = 0; i < config.halfOpenProbes; i++) applyCall(h, event(true, t1 + i), t1 + i);
    expect(h.breaker.state).to.equal('CLOSED');
    // The failures that opened it were forgotten when it closed: one more failure does not re-open it.
    applyCall(h, event(false, t1 + 10), t1 + 10);
    expect(h.breaker.state).to.equal('CLOSED');
  });

  it('a probe failure that arrives before the tick (OPEN past its open duration) reopens it as a new episode', () => {
    const t0 = 3_500_000;
    const h = newInstanceHealth(ID, PROJECT, config, t0);
    for (let i = 0; i < 5; i++) applyCall(h, event(false, t0), t0);
    const opened = h.breaker.openedAt;
    // The api handed out probes as soon as openUntil passed; their outcomes come before any tick here.
    const t1 = t0 + config.openDurationMs + 5;
    const { tick, transition } = applyCall(h, event(false, t1, { selectionId: 'x.probe', probe: true }), t1);
    expect([tick, transition].map((x) => `${x?.from}>${x?.to}`)).to.deep.equal(['OPEN>HALF_OPEN', 'HALF_OPEN>OPEN']);
    expect(h.breaker.state).to.equal('OPEN');
    expect(h.breaker.openedAt).to.equal(t1).and.not.equal(opened);
    expect(h.breaker.reopenCount).to.equal(1);
    // Before its open duration passed, a late failure is only counted.
    expect(applyCall(h, event(false, t1 + 1), t1 + 1)).to.deep.equal({ tick: null, transition: null });
  });

  it('a straggler (no selectionId, made before the open duration ran out) applied after it is no probe: it neither reopens nor counts', () => {
    const t0 = 3_700_000;
    const h = newInstanceHealth(ID, PROJECT, config, t0);
    for (let i = 0; i < 5; i++) applyCall(h, event(false, t0), t0);
    const late = t0 + config.openDurationMs + 1000;
    // Called while OPEN (selected before it opened), reported after a backlog: the tick happens, not a reopen.
    const { tick, transition } = applyCall(h, event(false, t0 + 10), late);
    expect(tick?.to).to.equal('HALF_OPEN');
    expect(transition).to.equal(null);
    expect(h.breaker.state).to.equal('HALF_OPEN');
    expect(h.breaker.reopenCount).to.equal(0);
    // A call of unknown kind made after the open duration is taken as a probe, as before.
    expect(applyCall(h, event(false, late), late + 1).transition?.to).to.equal('OPEN');
  });

  it('adopting a released (CLOSED) record resets the window; adopting a forced one keeps it', () => {
    const t0 = 8_000_000;
    const h = newInstanceHealth(ID, PROJECT, config, t0);
    for (let i = 0; i < 4; i++) applyCall(h, event(false, t0), t0);
    adoptStored(h, { breaker: { ...initialBreaker(t0), state: 'FORCED_OPEN', reason: 'forced by admin' }, cooldownUntil: null }, t0);
    expect(h.window.consecutiveFailures).to.equal(4);
    adoptStored(h, { breaker: { ...initialBreaker(t0 + 1), reason: 'released by admin' }, cooldownUntil: t0 + 500 }, t0 + 1);
    expect(h.breaker.state).to.equal('CLOSED');
    expect(h.window.consecutiveFailures).to.equal(0);
    expect(h.cooldownUntil).to.equal(t0 + 500);
  });

  it('loading its own CLOSED records keeps the window (restart safety)', () => {
    const t0 = 9_000_000;
    const fresh = newInstanceHealth(ID, PROJECT, config, t0);
    for (let i = 0; i < 3; i++) applyCall(fresh, event(false, t0), t0);
    const reloaded = newInstanceHealth(ID, PROJECT, config, t0 + 100);
    reloaded.window = fresh.window;
    adoptStored(reloaded, { breaker: fresh.breaker, cooldownUntil: null }, t0 + 100);
    expect(reloaded.window.consecutiveFailures).to.equal(3);

    // Closed after its probes: the window was reset at `since`, and is kept on reload.
    const cycled = newInstanceHealth(ID, PROJECT, config, t0);
    for (let i = 0; i < 5; i++) applyCall(cycled, event(false, t0), t0);
    const t1 = t0 + config.openDurationMs;
    applyTick(cycled, t1);
    for (let i = 0; i < config.halfOpenProbes; i++) applyCall(cycled, event(true, t1), t1);
    applyCall(cycled, event(false, t1 + 1), t1 + 1);
    expect(cycled.breaker.state).to.equal('CLOSED');
    const again = newInstanceHealth(ID, PROJECT, config, t1 + 2);
    again.window = cycled.window;
    adoptStored(again, { breaker: cycled.breaker, cooldownUntil: null }, t1 + 2);
    expect(again.window.consecutiveFailures).to.equal(1);
  });

  const windows: { windowMs: number; bucketMs: number }[] = [
    { windowMs: 60_000, bucketMs: 5_000 },
    { windowMs: 6_000, bucketMs: 1_000 },
    { windowMs: 500, bucketMs: 500 },
    { windowMs: 600_000, bucketMs: 50_000 },
  ];
  for (const w of windows) {
    it(`window of ${w.windowMs} ms has buckets of ${w.bucketMs} ms`, () => {
      expect(windowConfigOf({ ...config, windowMs: w.windowMs }).bucketMs).to.equal(w.bucketMs);
    });
  }
});
