import { expect } from 'chai';
import {
  DEFAULT_WINDOW_CONFIG,
  createWindow,
  recordCall,
  resetWindow,
  windowMatchesConfig,
  windowStats,
} from './index.js';
import type { CallRecord, WindowConfig, WindowStats } from './index.js';

const cfg: WindowConfig = { ...DEFAULT_WINDOW_CONFIG };

const ok = (at: number, latencyMs = 100): CallRecord => ({ at, success: true, latencyMs });
const fail = (at: number, latencyMs = 100): CallRecord => ({ at, success: false, latencyMs });

describe('sliding-window', () => {
  describe('createWindow', () => {
    const cases: { name: string; config: WindowConfig; buckets?: number; throws?: RegExp }[] = [
      { name: 'defaults → 12 buckets', config: cfg, buckets: 12 },
      { name: 'non-multiple rounds up', config: { windowMs: 10_000, bucketMs: 3_000, slowCallMs: 1 }, buckets: 4 },
      { name: 'one bucket', config: { windowMs: 1_000, bucketMs: 1_000, slowCallMs: 1 }, buckets: 1 },
      { name: 'bucketMs 0 rejected', config: { ...cfg, bucketMs: 0 }, throws: /bucketMs/ },
      { name: 'bucketMs > windowMs rejected', config: { ...cfg, bucketMs: 70_000 }, throws: /bucketMs/ },
      { name: 'NaN windowMs rejected', config: { ...cfg, windowMs: Number.NaN }, throws: /windowMs/ },
      { name: 'negative slowCallMs rejected', config: { ...cfg, slowCallMs: -1 }, throws: /slowCallMs/ },
    ];
    for (const c of cases) {
      it(c.name, () => {
        if (c.throws) {
          expect(() => createWindow(c.config)).to.throw(RangeError, c.throws);
          return;
        }
        const w = createWindow(c.config);
        expect(w.buckets).to.have.length(c.buckets ?? -1);
        expect(w.latencyEwmaMs).to.equal(null);
        expect(w.consecutiveFailures).to.equal(0);
      });
    }
  });

  describe('recordCall + windowStats', () => {
    interface Case {
      name: string;
      config?: WindowConfig;
      calls: CallRecord[];
      now: number;
      expect: Partial<WindowStats>;
      /** recordCall return values, when checked. */
      recorded?: boolean[];
    }
    const cases: Case[] = [
      {
        name: 'empty window',
        calls: [],
        now: 0,
        expect: { calls: 0, failures: 0, failureRate: 0, slowCallRate: 0, avgLatencyMs: null, latencyEwmaMs: null },
      },
      {
        name: 'counts calls, failures and rates',
        calls: [ok(1_000), fail(2_000), ok(3_000), fail(9_000)],
        now: 10_000,
        expect: { calls: 4, failures: 2, failureRate: 0.5, avgLatencyMs: 100, maxLatencyMs: 100 },
      },
      {
        name: 'unsuccessful call with countsAsFailure=false is a call, not a failure, and keeps the streak',
        calls: [fail(1_000), { at: 1_100, success: false, latencyMs: 5, countsAsFailure: false }, fail(1_200)],
        now: 2_000,
        expect: { calls: 3, failures: 2, consecutiveFailures: 2 },
      },
      {
        name: 'successful call with countsAsFailure=true is a failure',
        calls: [{ at: 1_000, success: true, latencyMs: 5, countsAsFailure: true }],
        now: 2_000,
        expect: { calls: 1, failures: 1, consecutiveFailures: 1 },
      },
      {
        name: 'a success resets consecutive failures',
        calls: [fail(1), fail(2), ok(3), fail(4)],
        now: 10,
        expect: { consecutiveFailures: 1, failures: 3 },
      },
      {
        name: 'slow at exactly slowCallMs, not just below',
        calls: [ok(1, 5_000), ok(2, 4_999), ok(3, 12_000), ok(4, 1)],
        now: 10,
        expect: { slowCalls: 2, slowCallRate: 0.5, maxLatencyMs: 12_000 },
      },
      {
        name: 'latency EWMA with alpha 0.2, seeded by the first call',
        calls: [ok(1, 100), ok(2, 200)],
        now: 10,
        expect: { latencyEwmaMs: 120, avgLatencyMs: 150 },
      },
      {
        name: 'bad latency counts as 0 ms',
        calls: [ok(1, -5), ok(2, Number.NaN)],
        now: 10,
        expect: { calls: 2, avgLatencyMs: 0, latencyEwmaMs: 0 },
      },
      {
        name: 'usage summed; totalTokens derived when absent; bad amounts ignored',
        calls: [
          { ...ok(1), usage: { promptTokens: 10, completionTokens: 5, cost: 0.25 } },
          { ...ok(2), usage: { promptTokens: 1, completionTokens: 2, totalTokens: 4, cost: 0.5 } },
          { ...ok(3), usage: { promptTokens: -3, completionTokens: Number.POSITIVE_INFINITY, cost: Number.NaN } },
        ],
        now: 10,
        expect: { tokens: { prompt: 11, completion: 7, total: 19 }, cost: 0.75 },
      },
      {
        name: 'window expiry: bucket 0 still counts at 59 999',
        calls: [fail(0), ok(4_999), ok(30_000)],
        now: 59_999,
        expect: { calls: 3, failures: 1 },
      },
      {
        name: 'window expiry: bucket 0 stops counting at 60 000 (bucket granularity)',
        calls: [fail(0), ok(4_999), ok(30_000)],
        now: 60_000,
        expect: { calls: 1, failures: 0 },
      },
      {
        name: 'window expiry: everything gone a window after the last call',
        calls: [fail(0), ok(30_000)],
        now: 90_000,
        expect: { calls: 0, failureRate: 0, avgLatencyMs: null, consecutiveFailures: 0, latencyEwmaMs: 100 },
      },
      {
        name: 'ring slot reused by a newer bucket drops the old one',
        calls: [fail(0), fail(1_000), ok(60_000)],
        now: 60_000,
        expect: { calls: 1, failures: 0 },
        recorded: [true, true, true],
      },
      {
        name: 'out-of-order call goes to its own (older) bucket',
        calls: [ok(30_000), fail(10_000)],
        now: 69_999,
        expect: { calls: 2, failures: 1 },
        recorded: [true, true],
      },
      {
        name: 'out-of-order call expires with its own bucket, not the newest',
        calls: [ok(30_000), fail(10_000)],
        now: 70_000,
        expect: { calls: 1, failures: 0 },
      },
      {
        name: 'call a whole window older than the newest bucket is ignored',
        calls: [ok(100_000), fail(44_999), fail(45_000)],
        now: 100_000,
        expect: { calls: 2, failures: 1 },
        recorded: [true, false, true],
      },
      {
        name: 'buckets newer than now are not counted',
        calls: [ok(1_000), ok(10_000)],
        now: 5_000,
        expect: { calls: 1 },
      },
      {
        name: 'non-finite timestamp is ignored',
        calls: [ok(Number.NaN), ok(Number.POSITIVE_INFINITY), ok(1)],
        now: 10,
        expect: { calls: 1 },
        recorded: [false, false, true],
      },
      {
        name: 'non-multiple window: 10 s in 3 s buckets keeps 4 buckets',
        config: { windowMs: 10_000, bucketMs: 3_000, slowCallMs: 5_000 },
        calls: [ok(2_999), ok(3_000), ok(12_000)],
        now: 12_000,
        expect: { calls: 2 },
      },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const config = c.config ?? cfg;
        const w = createWindow(config);
        const recorded = c.calls.map((call) => recordCall(w, call, config));
        if (c.recorded) expect(recorded).to.deep.equal(c.recorded);
        const stats = windowStats(w, c.now, config);
        for (const [key, value] of Object.entries(c.expect)) {
          expect(stats, key).to.have.deep.property(key, value);
        }
      });
    }
  });

  describe('resetWindow', () => {
    it('empties counters, keeps the EWMA and ignores late calls made before the reset', () => {
      const w = createWindow(cfg);
      for (const call of [fail(1_000), fail(2_000), ok(3_000, 300)]) recordCall(w, call, cfg);
      resetWindow(w, 10_000);
      const cases: { name: string; call: CallRecord; recorded: boolean }[] = [
        { name: 'late call before the reset', call: fail(9_999), recorded: false },
        { name: 'call at the reset', call: ok(10_000), recorded: true },
      ];
      const before = windowStats(w, 10_000, cfg);
      expect(before).to.include({ calls: 0, failures: 0, consecutiveFailures: 0 });
      // Failures do not move the EWMA (a fast error must not look fast): only the success at 300 ms counts.
      expect(before.latencyEwmaMs).to.be.closeTo(300, 1e-9);
      for (const c of cases) expect(recordCall(w, c.call, cfg), c.name).to.equal(c.recorded);
      expect(windowStats(w, 10_000, cfg)).to.include({ calls: 1, failures: 0 });
    });
  });

  describe('serialisation and config match', () => {
    it('survives a JSON round trip with identical stats', () => {
      const w = createWindow(cfg);
      for (const call of [fail(1_000), ok(7_000, 6_000), { ...ok(12_000), usage: { promptTokens: 3 } }]) {
        recordCall(w, call, cfg);
      }
      const restored = JSON.parse(JSON.stringify(w)) as typeof w;
      expect(windowStats(restored, 20_000, cfg)).to.deep.equal(windowStats(w, 20_000, cfg));
      recordCall(restored, fail(21_000), cfg);
      expect(windowStats(restored, 21_000, cfg).consecutiveFailures).to.equal(1);
    });

    const cases: { name: string; config: WindowConfig; matches: boolean }[] = [
      { name: 'same config', config: cfg, matches: true },
      { name: 'other slowCallMs only', config: { ...cfg, slowCallMs: 1 }, matches: true },
      { name: 'other windowMs', config: { ...cfg, windowMs: 30_000 }, matches: false },
      { name: 'other bucketMs, same bucket count', config: { ...cfg, windowMs: 120_000, bucketMs: 10_000 }, matches: false },
    ];
    for (const c of cases) {
      it(`windowMatchesConfig: ${c.name}`, () => {
        const w = createWindow(cfg);
        recordCall(w, ok(5_000), cfg);
        expect(windowMatchesConfig(w, c.config)).to.equal(c.matches);
      });
    }
  });
});
