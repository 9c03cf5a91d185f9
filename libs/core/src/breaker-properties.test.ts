import { mulberry32 as prng } from './seeded-random.js';
/**
 * Property test: seeded random sequences of reports, ticks, clock jumps and admin actions, driven exactly as
 * the aggregator does (window → stats → breaker → reset), never leave the breaker in an invalid state.
 * The PRNG is seeded so a failure names a reproducible seed and step.
 */
import { expect } from 'chai';
import {
  DEFAULT_BREAKER_CONFIG,
  createWindow,
  force,
  initialBreaker,
  isRoutable,
  onCallResult,
  onTick,
  openDurationFor,
  recordCall,
  resetWindow,
  resolveBreakerConfig,
  windowStats,
} from './index.js';
import type { BreakerConfig, BreakerResult, BreakerSnapshot, ForceMode, WindowStats } from './index.js';


const int = (rand: () => number, min: number, max: number): number => min + Math.floor(rand() * (max - min + 1));
const pick = <T>(rand: () => number, items: readonly T[]): T => {
  const item = items[Math.floor(rand() * items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
};

const SEEDS = Array.from({ length: 20 }, (_, i) => 1_000 + i * 7_919);
const STEPS = 1_000;
const FORCE_MODES: readonly ForceMode[] = ['FORCED_OPEN', 'FORCED_CLOSED', 'AUTO'];

function checkSnapshot(s: BreakerSnapshot, config: BreakerConfig, now: number): void {
  expect(['CLOSED', 'OPEN', 'HALF_OPEN', 'FORCED_OPEN', 'FORCED_CLOSED']).to.include(s.state);
  expect(s.since).to.be.at.most(now);
  expect(s.reason).to.be.a('string').and.not.equal('');
  if (s.state === 'OPEN') {
    expect(s.openUntil, 'OPEN has openUntil').to.be.a('number');
    expect(s.openedAt, 'OPEN has openedAt').to.be.a('number');
    expect((s.openUntil ?? Number.NaN) - (s.openedAt ?? Number.NaN)).to.equal(openDurationFor(s.reopenCount, config));
  } else {
    expect(s.openUntil, `${s.state} has no openUntil`).to.equal(null);
  }
  if (s.state === 'HALF_OPEN') {
    expect(s.probeSuccesses + s.probeFailures, 'probes within halfOpenProbes').to.be.below(config.halfOpenProbes);
  } else {
    expect([s.probeSuccesses, s.probeFailures], 'no probe tally outside HALF_OPEN').to.deep.equal([0, 0]);
  }
  if (s.degraded) expect(s.state, 'degraded only while CLOSED').to.equal('CLOSED');
  if (s.state !== 'OPEN' && s.state !== 'HALF_OPEN') expect(s.reopenCount).to.equal(0);
  if (s.state === 'FORCED_OPEN') expect(isRoutable(s, now)).to.equal('no');
}

function checkStats(stats: WindowStats): void {
  expect(stats.failures).to.be.within(0, stats.calls);
  expect(stats.slowCalls).to.be.within(0, stats.calls);
  expect(stats.failureRate).to.be.within(0, 1);
  expect(stats.slowCallRate).to.be.within(0, 1);
}

function checkStep(prev: BreakerSnapshot, r: BreakerResult, byAdmin: boolean, now: number): void {
  const next = r.snapshot;
  expect(r.degradedChanged).to.equal(prev.degraded !== next.degraded);
  if (r.transition === null) {
    expect(next.state).to.equal(prev.state);
  } else {
    expect(r.transition).to.deep.equal({ from: prev.state, to: next.state, at: now, reason: next.reason });
    expect(r.transition.from).to.not.equal(r.transition.to);
    expect(next.since).to.equal(now);
  }
  if (!byAdmin && (prev.state === 'FORCED_OPEN' || prev.state === 'FORCED_CLOSED')) {
    expect(next, 'FORCED changes only through force()').to.equal(prev);
  }
  expect(r.resetWindow).to.equal(r.transition !== null && next.state === 'CLOSED');
}

describe('breaker properties (seeded random walks)', () => {
  const seen = new Set<string>();

  for (const seed of SEEDS) {
    it(`seed ${seed}: ${STEPS} steps keep every invariant`, () => {
      const rand = prng(seed);
      const { config, ignored } = resolveBreakerConfig(DEFAULT_BREAKER_CONFIG, {
        minCalls: int(rand, 1, 12),
        consecutiveFailures: int(rand, 1, 6),
        halfOpenProbes: int(rand, 1, 4),
        // Inside BREAKER_BOUNDS: at least a second, and the first open duration never above the cap.
        openDurationMs: int(rand, 1_000, 30_000),
        maxOpenDurationMs: int(rand, 30_000, 200_000),
        failureRateThreshold: 0.1 + 0.9 * rand(),
        slowCallRateThreshold: 0.1 + 0.9 * rand(),
      });
      expect(ignored).to.deep.equal([]);
      const wc = { windowMs: config.windowMs, bucketMs: 5_000, slowCallMs: config.slowCallMs };
      const window = createWindow(wc);
      const failureOdds = 0.1 + 0.6 * rand();
      let now = int(rand, 0, 1e9);
      let s = Object.freeze(initialBreaker(now));

      for (let step = 0; step < STEPS; step++) {
        now += rand() < 0.05 ? int(rand, 0, 400_000) : int(rand, 0, 3_000);
        const roll = rand();
        const prev = s;
        let r: BreakerResult;
        let byAdmin = false;
        if (roll < 0.03) {
          byAdmin = true;
          r = force(prev, pick(rand, FORCE_MODES), now);
        } else if (roll < 0.3) {
          r = onTick(prev, now, config);
        } else {
          const kind = rand();
          const success = kind >= failureOdds;
          const countsAsFailure = !success && kind > failureOdds * 0.9 ? false : !success;
          const at = rand() < 0.1 ? now - int(rand, 0, 90_000) : now;
          const latencyMs = rand() < 0.3 ? int(rand, 5_000, 20_000) : int(rand, 1, 4_999);
          recordCall(window, { at, success, latencyMs, countsAsFailure }, wc);
          const stats = windowStats(window, now, wc);
          checkStats(stats);
          // Half the reports don't say whether they were probes; the rest say so either way.
          const probeRoll = rand();
          const call = probeRoll < 0.5 ? { success, countsAsFailure } : { success, countsAsFailure, probe: probeRoll < 0.8 };
          r = onCallResult(prev, stats, call, now, config);
        }
        if (r.resetWindow) resetWindow(window, now);
        if (r.transition) seen.add(`${r.transition.from}->${r.transition.to}`);
        const context = `seed ${seed}, step ${step}`;
        try {
          checkStep(prev, r, byAdmin, now);
          checkSnapshot(r.snapshot, config, now);
        } catch (err) {
          throw new Error(`${context}: ${(err as Error).message}\nprev ${JSON.stringify(prev)}\nnext ${JSON.stringify(r.snapshot)}`);
        }
        s = Object.freeze(r.snapshot);
      }
    });
  }

  it('the walks explored every automatic transition', () => {
    for (const t of ['CLOSED->OPEN', 'OPEN->HALF_OPEN', 'HALF_OPEN->CLOSED', 'HALF_OPEN->OPEN']) {
      expect(seen, t).to.include(t);
    }
  });
});
