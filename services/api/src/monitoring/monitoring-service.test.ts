import { expect } from 'chai';
import type { BreakerSnapshot, BreakerState } from '@apg/core';
import type { InstanceStatus, MonitoringTimeRange } from '@apg/contracts';
import {
  MonitoringService,
  bucketSeries,
  gatewayStatusOf,
  monitoringOverview,
  observationOverview,
  rates,
  routingNumber,
  routingView,
  seriesWindow,
  statusStatistics,
  toMonitoringDto,
  toObservationDto,
  windowStart,
  type CallCounts,
  type ClassifiedInstance,
  type InstanceStats,
  type MinuteTotals,
  type MonitoringReads,
} from './monitoring-service';

const MIN = 60_000;
const T = Date.parse('2025-06-22T10:37:30.000Z');
const at = (isoString: string) => new Date(isoString);

const instance = (over: Partial<ClassifiedInstance> = {}): ClassifiedInstance => ({
  id: 'a'.repeat(32),
  projectId: 'p'.repeat(32),
  projectName: 'shop',
  apiIdentifier: 'gpt4o',
  apiType: 'MODEL',
  businessId: 'gpt4o-a',
  routingParams: {},
  status: 'ACTIVE',
  calls: 0,
  failures: 0,
  latencySumMs: 0,
  lastReportedAt: null,
  gatewayStatus: 'HEALTHY',
  ...over,
});

describe('monitoring maths', () => {
  describe('rates (weighted, percent)', () => {
    const cases: { name: string; c: CallCounts; want: ReturnType<typeof rates> }[] = [
      { name: 'no calls → zeros (seed-compatible)', c: { calls: 0, failures: 0, latencySumMs: 0 }, want: { successRate: 0, failureRate: 0, averageLatency: 0 } },
      { name: 'all good', c: { calls: 4, failures: 0, latencySumMs: 400 }, want: { successRate: 100, failureRate: 0, averageLatency: 100 } },
      { name: 'all failed', c: { calls: 2, failures: 2, latencySumMs: 10 }, want: { successRate: 0, failureRate: 100, averageLatency: 5 } },
      { name: '99 of 100 is exactly 99', c: { calls: 100, failures: 1, latencySumMs: 12_345 }, want: { successRate: 99, failureRate: 1, averageLatency: 123.45 } },
      { name: 'more failures than calls is clamped', c: { calls: 2, failures: 5, latencySumMs: 0 }, want: { successRate: 0, failureRate: 100, averageLatency: 0 } },
      { name: 'negative calls count as none', c: { calls: -1, failures: 0, latencySumMs: 5 }, want: { successRate: 0, failureRate: 0, averageLatency: 0 } },
    ];
    for (const c of cases) it(c.name, () => expect(rates(c.c)).to.deep.equal(c.want));
  });

  describe('gatewayStatusOf', () => {
    const cases: { state: BreakerState | 'WEIRD' | null; degraded: boolean; want: string }[] = [
      { state: null, degraded: false, want: 'HEALTHY' },
      { state: 'CLOSED', degraded: false, want: 'HEALTHY' },
      { state: 'CLOSED', degraded: true, want: 'DEGRADED' },
      { state: 'FORCED_CLOSED', degraded: false, want: 'HEALTHY' },
      { state: 'FORCED_CLOSED', degraded: true, want: 'DEGRADED' },
      { state: 'OPEN', degraded: false, want: 'CIRCUIT_BREAKER_OPEN' },
      { state: 'OPEN', degraded: true, want: 'CIRCUIT_BREAKER_OPEN' },
      { state: 'HALF_OPEN', degraded: false, want: 'CIRCUIT_BREAKER_OPEN' },
      { state: 'FORCED_OPEN', degraded: false, want: 'CIRCUIT_BREAKER_OPEN' },
      { state: 'WEIRD', degraded: false, want: 'HEALTHY' },
    ];
    for (const c of cases) {
      it(`${String(c.state)}${c.degraded ? ' (degraded)' : ''} → ${c.want}`, () => {
        const snap = c.state === null ? undefined : ({ state: c.state, degraded: c.degraded } as Pick<BreakerSnapshot, 'state' | 'degraded'>);
        expect(gatewayStatusOf(snap)).to.equal(c.want);
      });
    }
  });

  describe('routing params read tolerantly (fault 19)', () => {
    const cases: { name: string; params: Record<string, unknown>; want: ReturnType<typeof routingView> }[] = [
      { name: 'empty → defaults', params: {}, want: { priority: 0, costPerUnit: 0, weight: 1 } },
      { name: 'integers', params: { priority: 3, costPerUnit: 2, weight: 5 }, want: { priority: 3, costPerUnit: 2, weight: 5 } },
      { name: 'floats', params: { priority: 1.5, costPerUnit: 0.002, weight: 2.5 }, want: { priority: 1.5, costPerUnit: 0.002, weight: 2.5 } },
      { name: 'beyond int32', params: { priority: 3_000_000_000, cost_per_unit: 1e12 }, want: { priority: 3_000_000_000, costPerUnit: 1e12, weight: 1 } },
      { name: 'seed keys', params: { cost_per_unit: 7, initial_weight: 4 }, want: { priority: 0, costPerUnit: 7, weight: 4 } },
      { name: 'camelCase wins over snake_case', params: { costPerUnit: 1, cost_per_unit: 9 }, want: { priority: 0, costPerUnit: 1, weight: 1 } },
      { name: 'numeric strings', params: { priority: '2', costPerUnit: ' 0.5 ', weight: '3' }, want: { priority: 2, costPerUnit: 0.5, weight: 3 } },
      { name: 'garbage → defaults', params: { priority: 'high', costPerUnit: null, weight: { x: 1 } }, want: { priority: 0, costPerUnit: 0, weight: 1 } },
      { name: 'blank string → next key', params: { costPerUnit: '', cost_per_unit: 3 }, want: { priority: 0, costPerUnit: 3, weight: 1 } },
      { name: 'booleans and arrays → defaults', params: { priority: true, weight: [2] }, want: { priority: 0, costPerUnit: 0, weight: 1 } },
    ];
    for (const c of cases) it(c.name, () => expect(routingView(c.params)).to.deep.equal(c.want));

    it('skips non-finite values', () => {
      expect(routingNumber({ a: Number.POSITIVE_INFINITY, b: 'NaN', c: 4 }, ['a', 'b', 'c'], 0)).to.equal(4);
    });
  });

  describe('windowStart (minute rollups, widened to whole minutes)', () => {
    const cases: { name: string; now: number; windowMs: number; want: string }[] = [
      { name: '10 min mid-minute', now: T, windowMs: 10 * MIN, want: '2025-06-22T10:27:00.000Z' },
      { name: '1 min keeps the previous minute', now: T, windowMs: MIN, want: '2025-06-22T10:36:00.000Z' },
      { name: 'on a minute boundary', now: Date.parse('2025-06-22T10:00:00.000Z'), windowMs: MIN, want: '2025-06-22T09:59:00.000Z' },
      { name: '24 h across midnight', now: Date.parse('2025-06-22T00:00:30.000Z'), windowMs: 24 * 60 * MIN, want: '2025-06-21T00:00:00.000Z' },
    ];
    for (const c of cases) it(c.name, () => expect(windowStart(c.now, c.windowMs).toISOString()).to.equal(c.want));
  });

  describe('seriesWindow (aligned buckets)', () => {
    const cases: { range: MonitoringTimeRange; now: number; from: string; bucketMin: number }[] = [
      { range: '1h', now: T, from: '2025-06-22T09:35:00.000Z', bucketMin: 5 },
      { range: '6h', now: T, from: '2025-06-22T04:30:00.000Z', bucketMin: 15 },
      { range: '24h', now: T, from: '2025-06-21T10:00:00.000Z', bucketMin: 60 },
      // 4-hour buckets really start at 00/04/08/… UTC (the seed's 7d was hourly).
      { range: '7d', now: T, from: '2025-06-15T08:00:00.000Z', bucketMin: 240 },
      { range: '7d', now: Date.parse('2025-06-22T03:59:59.999Z'), from: '2025-06-15T00:00:00.000Z', bucketMin: 240 },
    ];
    for (const c of cases) {
      it(`${c.range} at ${new Date(c.now).toISOString()}`, () => {
        const w = seriesWindow(c.range, c.now);
        expect(w.from.toISOString()).to.equal(c.from);
        expect(w.to.getTime()).to.equal(c.now);
        expect(w.bucketMs).to.equal(c.bucketMin * MIN);
      });
    }
  });

  describe('bucketSeries', () => {
    const row = (minute: string, calls: number, failures: number, latencySumMs: number): MinuteTotals => ({ minute: at(minute), calls, failures, latencySumMs });

    it('no rows → three empty arrays (never {})', () => {
      expect(bucketSeries([], 5 * MIN)).to.deep.equal({ callVolume: [], successRate: [], latency: [] });
    });

    it('weights each bucket by calls, not by minute', () => {
      // Minute 1: 1 call, failed, 1000 ms. Minute 2: 99 calls, all good, 10 ms each.
      const s = bucketSeries([row('2025-06-22T10:01:00Z', 1, 1, 1000), row('2025-06-22T10:02:00Z', 99, 0, 990)], 5 * MIN);
      expect(s.callVolume).to.deep.equal([{ time: '2025-06-22T10:00:00.000Z', value: 100 }]);
      expect(s.successRate).to.deep.equal([{ time: '2025-06-22T10:00:00.000Z', value: 99 }]);
      expect(s.latency).to.deep.equal([{ time: '2025-06-22T10:00:00.000Z', value: 19.9 }]);
    });

    const bucketCases: { name: string; bucketMin: number; minutes: string[]; times: string[] }[] = [
      { name: '5 min', bucketMin: 5, minutes: ['2025-06-22T10:04:00Z', '2025-06-22T10:05:00Z', '2025-06-22T10:09:00Z'], times: ['2025-06-22T10:00:00.000Z', '2025-06-22T10:05:00.000Z'] },
      { name: '15 min', bucketMin: 15, minutes: ['2025-06-22T10:14:00Z', '2025-06-22T10:15:00Z', '2025-06-22T10:44:00Z'], times: ['2025-06-22T10:00:00.000Z', '2025-06-22T10:15:00.000Z', '2025-06-22T10:30:00.000Z'] },
      { name: '60 min, same hour on two days stays apart', bucketMin: 60, minutes: ['2025-06-21T10:30:00Z', '2025-06-22T10:30:00Z'], times: ['2025-06-21T10:00:00.000Z', '2025-06-22T10:00:00.000Z'] },
      { name: '240 min', bucketMin: 240, minutes: ['2025-06-22T03:59:00Z', '2025-06-22T04:00:00Z', '2025-06-22T07:30:00Z', '2025-06-22T23:59:00Z'], times: ['2025-06-22T00:00:00.000Z', '2025-06-22T04:00:00.000Z', '2025-06-22T20:00:00.000Z'] },
    ];
    for (const c of bucketCases) {
      it(`aligns ${c.name} buckets and sorts them oldest first`, () => {
        const rows = [...c.minutes].reverse().map((m) => row(m, 2, 0, 20));
        const s = bucketSeries(rows, c.bucketMin * MIN);
        expect(s.callVolume.map((p) => p.time)).to.deep.equal(c.times);
        expect(s.successRate.map((p) => p.time)).to.deep.equal(c.times);
        expect(s.latency.map((p) => p.time)).to.deep.equal(c.times);
        expect(s.callVolume.reduce((n, p) => n + p.value, 0)).to.equal(2 * c.minutes.length);
      });
    }

    it('leaves out buckets without calls', () => {
      const s = bucketSeries([row('2025-06-22T10:00:00Z', 0, 0, 0), row('2025-06-22T10:05:00Z', 1, 0, 7)], 5 * MIN);
      expect(s.callVolume).to.deep.equal([{ time: '2025-06-22T10:05:00.000Z', value: 1 }]);
      expect(s.latency).to.deep.equal([{ time: '2025-06-22T10:05:00.000Z', value: 7 }]);
    });
  });

  describe('overviews (weighted, current status)', () => {
    const a = instance({ id: 'a', calls: 1, failures: 1, latencySumMs: 1000, gatewayStatus: 'CIRCUIT_BREAKER_OPEN' });
    const b = instance({ id: 'b', calls: 99, failures: 0, latencySumMs: 990, gatewayStatus: 'HEALTHY', status: 'INACTIVE' });
    const c = instance({ id: 'c', gatewayStatus: 'DEGRADED', status: 'DEPRECATED' });
    const d = instance({ id: 'd', gatewayStatus: 'HEALTHY' });

    it('monitoring overview: 99 %, not the mean of means (50 %)', () => {
      expect(monitoringOverview([a, b, c, d])).to.deep.equal({
        totalInstances: 4, healthyInstances: 2, activeInstances: 2, averageSuccessRate: 99, averageLatency: 19.9, totalCalls: 100,
      });
    });

    it('observation overview counts every status, DEGRADED included', () => {
      expect(observationOverview([a, b, c, d])).to.deep.equal({
        totalInstances: 4, healthyInstances: 2, activeInstances: 2, faultyInstances: 0, circuitBreakerInstances: 1,
        degradedInstances: 1, totalCallCount: 100, averageSuccessRate: 99, averageLatency: 19.9,
      });
    });

    it('empty → all zeros', () => {
      expect(monitoringOverview([])).to.deep.equal({ totalInstances: 0, healthyInstances: 0, activeInstances: 0, averageSuccessRate: 0, averageLatency: 0, totalCalls: 0 });
      expect(Object.values(observationOverview([]))).to.deep.equal([0, 0, 0, 0, 0, 0, 0, 0, 0]);
    });

    it('status statistics list every status, zeros included', () => {
      expect(statusStatistics([a, b, c, d])).to.deep.equal({
        totalInstances: 4,
        byGatewayStatus: { HEALTHY: 2, DEGRADED: 1, FAULTY: 0, CIRCUIT_BREAKER_OPEN: 1 },
        byInstanceStatus: { ACTIVE: 2, INACTIVE: 1, DEPRECATED: 1 },
      });
    });
  });

  describe('DTOs', () => {
    it('monitoring DTO has every seed field and leaves lastReportedAt out when never reported', () => {
      const dto = toMonitoringDto(instance({ calls: 4, failures: 1, latencySumMs: 400, routingParams: { priority: 2, cost_per_unit: 3, weight: 7 } }));
      expect(dto).to.deep.equal({
        instanceId: 'a'.repeat(32), projectId: 'p'.repeat(32), projectName: 'shop', businessId: 'gpt4o-a', apiIdentifier: 'gpt4o',
        apiType: 'MODEL', status: 'ACTIVE', gatewayStatus: 'HEALTHY', successRate: 75, failureRate: 25, averageLatency: 100,
        concurrency: 0, recentCalls: 4, successCount: 3, failureCount: 1, priority: 2, costPerUnit: 3, weight: 7,
      });
    });

    it('observation DTO carries the instance id and an ISO lastActiveTime', () => {
      const dto = toObservationDto(instance({ calls: 2, failures: 0, latencySumMs: 30, lastReportedAt: at('2025-06-22T10:36:00Z') }));
      expect(dto).to.deep.equal({
        instanceId: 'a'.repeat(32), projectId: 'p'.repeat(32), projectName: 'shop', apiIdentifier: 'gpt4o', apiType: 'MODEL',
        businessId: 'gpt4o-a', instanceStatus: 'ACTIVE', gatewayStatus: 'HEALTHY', callCount: 2, successRate: 100, averageLatency: 15,
        lastActiveTime: '2025-06-22T10:36:00.000Z',
      });
    });
  });
});

describe('MonitoringService (fake store and breakers)', () => {
  const stats = (id: string, status: InstanceStatus, calls: number, failures: number): InstanceStats => {
    const { gatewayStatus: _g, ...rest } = instance({ id, status, calls, failures, latencySumMs: calls * 10 });
    return rest;
  };
  const snapshots: Record<string, Pick<BreakerSnapshot, 'state' | 'degraded'>> = { b: { state: 'OPEN', degraded: false }, c: { state: 'CLOSED', degraded: true } };
  const calls: { instanceStats: unknown[]; minuteTotals: unknown[] } = { instanceStats: [], minuteTotals: [] };
  const store: MonitoringReads = {
    async instanceStats(f) {
      calls.instanceStats.push(f);
      return [stats('a', 'ACTIVE', 10, 0), stats('b', 'ACTIVE', 10, 10), stats('c', 'INACTIVE', 0, 0)].filter((s) => !f.status || s.status === f.status);
    },
    async minuteTotals(f) {
      calls.minuteTotals.push(f);
      return [{ minute: at('2025-06-22T10:31:00Z'), calls: 3, failures: 0, latencySumMs: 30 }];
    },
  };
  let refreshed = 0;
  const breakers = {
    lastRefreshOk: true,
    get: (id: string) => ({ ...(snapshots[id] ?? { state: 'CLOSED', degraded: false }) }) as BreakerSnapshot,
    refresh: async () => void (refreshed += 1),
  };
  const service = new MonitoringService(store, breakers, () => T);

  beforeEach(() => {
    calls.instanceStats = [];
    calls.minuteTotals = [];
  });

  it('reads the last 10 minutes for the overview and maps breakers to gateway statuses', async () => {
    const o = await service.overview({ projectId: 'p1' });
    expect(calls.instanceStats).to.deep.equal([{ projectId: 'p1', status: undefined, since: at('2025-06-22T10:27:00Z'), until: new Date(T) }]);
    expect(o).to.deep.equal({ totalInstances: 3, healthyInstances: 1, activeInstances: 2, averageSuccessRate: 50, averageLatency: 10, totalCalls: 20 });
  });

  const filterCases: { name: string; q: { status?: InstanceStatus; gatewayStatus?: 'HEALTHY' | 'DEGRADED' | 'CIRCUIT_BREAKER_OPEN' | 'FAULTY' }; ids: string[] }[] = [
    { name: 'no filter', q: {}, ids: ['a', 'b', 'c'] },
    { name: 'status in the store', q: { status: 'ACTIVE' }, ids: ['a', 'b'] },
    { name: 'gatewayStatus after mapping', q: { gatewayStatus: 'CIRCUIT_BREAKER_OPEN' }, ids: ['b'] },
    { name: 'DEGRADED', q: { gatewayStatus: 'DEGRADED' }, ids: ['c'] },
    { name: 'both', q: { status: 'INACTIVE', gatewayStatus: 'HEALTHY' }, ids: [] },
    { name: 'FAULTY is never produced yet', q: { gatewayStatus: 'FAULTY' }, ids: [] },
  ];
  for (const c of filterCases) {
    it(`instances filter: ${c.name}`, async () => {
      expect((await service.instances(c.q)).map((i) => i.instanceId)).to.deep.equal(c.ids);
      expect((await service.observationInstances({ timeWindow: '1h', ...c.q })).map((i) => i.instanceId)).to.deep.equal(c.ids);
    });
  }

  it('observation overview honours the gatewayStatus filter and the time window', async () => {
    const o = await service.observationOverview({ timeWindow: '30m', gatewayStatus: 'CIRCUIT_BREAKER_OPEN' });
    expect(calls.instanceStats).to.have.length(1);
    expect((calls.instanceStats[0] as { since: Date }).since.toISOString()).to.equal('2025-06-22T10:07:00.000Z');
    expect(o).to.include({ totalInstances: 1, circuitBreakerInstances: 1, totalCallCount: 10, averageSuccessRate: 0 });
  });

  it('timeseries reads the aligned range and buckets it', async () => {
    const s = await service.timeseries({ timeRange: '1h', projectId: 'p1' });
    expect(calls.minuteTotals).to.deep.equal([{ projectId: 'p1', since: at('2025-06-22T09:35:00Z'), until: new Date(T) }]);
    expect(s.callVolume).to.deep.equal([{ time: '2025-06-22T10:30:00.000Z', value: 3 }]);
  });

  it('refresh reloads the breaker cache and reports whether Redis answered', async () => {
    const before = refreshed;
    expect(await service.refresh()).to.deep.equal({ ok: true, refreshedAt: new Date(T).toISOString() });
    expect(refreshed).to.equal(before + 1);
    breakers.lastRefreshOk = false;
    expect((await service.refresh()).ok).to.equal(false);
    breakers.lastRefreshOk = true;
  });
});
