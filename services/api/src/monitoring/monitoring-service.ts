import type {
  ApiInstanceMonitoringDto,
  GatewayStatus,
  InstanceObservationDto,
  InstanceStatus,
  MonitoringOverviewDto,
  MonitoringTimeRange,
  ObservationOverviewDto,
  ObservationTimeWindow,
  StatusStatisticsDto,
  TimeSeriesDto,
  TimeSeriesPoint,
} from '@apg/contracts';
import type { BreakerSnapshot } from '@apg/core';

/**
 * The maths of `/admin/monitoring/*` and `/admin/observation/*`: pure functions over rollup sums and
 * breaker snapshots (tested without I/O), plus a thin service that feeds them from the store and the
 * api's live breaker cache.
 *
 * Every average is weighted by calls: a success rate is Σsuccesses / Σcalls and a latency is
 * Σlatency / Σcalls over all the minutes and instances involved, never a mean of per-minute or
 * per-instance means (the seed's fault 20: 1 failed call on A and 99 good ones on B is 99 %, not 50 %).
 */

const MINUTE_MS = 60_000;

/** The summed rollup counters of some minutes (of one instance, or of many). */
export interface CallCounts {
  calls: number;
  failures: number;
  latencySumMs: number;
}

/** One instance with its counters over the asked window (the store's answer, one query for all). */
export interface InstanceStats extends CallCounts {
  id: string;
  projectId: string;
  projectName: string;
  apiIdentifier: string;
  apiType: string;
  businessId: string;
  routingParams: Record<string, unknown>;
  status: InstanceStatus;
  /** Start of the newest minute with calls, of any age; `null` when never reported. */
  lastReportedAt: Date | null;
}

/** All instances' counters of one minute. */
export interface MinuteTotals extends CallCounts {
  minute: Date;
}

export interface Rates {
  successRate: number;
  failureRate: number;
  averageLatency: number;
}

/**
 * Percentages 0..100, latency in ms. No calls gives 0 for all three, as in the seed (consumers do
 * arithmetic on them); the call count tells "no data" apart from "all failed".
 * Multiplying before dividing keeps round cases exact (100·99/100 = 99, while 0.99·100 is not).
 */
export function rates(c: CallCounts): Rates {
  if (c.calls <= 0) return { successRate: 0, failureRate: 0, averageLatency: 0 };
  const failures = Math.min(Math.max(c.failures, 0), c.calls);
  const failureRate = (100 * failures) / c.calls;
  return { successRate: (100 * (c.calls - failures)) / c.calls, failureRate, averageLatency: c.latencySumMs / c.calls };
}

export function sumCounts(list: readonly CallCounts[]): CallCounts {
  const total: CallCounts = { calls: 0, failures: 0, latencySumMs: 0 };
  for (const c of list) {
    total.calls += c.calls;
    total.failures += c.failures;
    total.latencySumMs += c.latencySumMs;
  }
  return total;
}

/**
 * The console's gateway status from the live breaker: CLOSED/FORCED_CLOSED are HEALTHY, or DEGRADED
 * while the aggregator flags the instance slow; OPEN, HALF_OPEN and FORCED_OPEN are
 * CIRCUIT_BREAKER_OPEN (HALF_OPEN only admits probes, so it is not "healthy" yet). An instance the
 * aggregator never saw has no snapshot and is HEALTHY, like a cold instance in selection.
 *
 * FAULTY is never produced yet: it is reserved for instances parked by an error class that needs an
 * admin (AUTH_INVALID, architecture §7) once the breaker carries that; until then it is always 0.
 */
export function gatewayStatusOf(snapshot: Pick<BreakerSnapshot, 'state' | 'degraded'> | undefined): GatewayStatus {
  switch (snapshot?.state) {
    case 'OPEN':
    case 'HALF_OPEN':
    case 'FORCED_OPEN':
      return 'CIRCUIT_BREAKER_OPEN';
    case 'CLOSED':
    case 'FORCED_CLOSED':
      return snapshot.degraded === true ? 'DEGRADED' : 'HEALTHY';
    default:
      // No snapshot, or a state this build does not know (a newer aggregator): not an outage signal.
      return 'HEALTHY';
  }
}

/**
 * A number from routing params, tolerant of how clients write it (the seed cast and threw: fault 19):
 * any JSON number (integer, float, large) or a numeric string; the first of `keys` that holds one wins.
 */
export function routingNumber(params: Record<string, unknown>, keys: readonly string[], fallback: number): number {
  for (const key of keys) {
    const v = params[key];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    if (typeof v === 'string' && v.trim() !== '') {
      const n = Number(v);
      if (Number.isFinite(n)) return n;
    }
  }
  return fallback;
}

/** `priority` (default 0), `costPerUnit` or the seed's `cost_per_unit` (0), `weight` or the seed's `initial_weight` (1). */
export function routingView(params: Record<string, unknown>): { priority: number; costPerUnit: number; weight: number } {
  return {
    priority: routingNumber(params, ['priority'], 0),
    costPerUnit: routingNumber(params, ['costPerUnit', 'cost_per_unit'], 0),
    weight: routingNumber(params, ['weight', 'initial_weight', 'initialWeight'], 1),
  };
}

export const OVERVIEW_WINDOW_MS = 10 * MINUTE_MS;

export const OBSERVATION_WINDOW_MS: Record<ObservationTimeWindow, number> = {
  '1m': MINUTE_MS,
  '10m': 10 * MINUTE_MS,
  '30m': 30 * MINUTE_MS,
  '1h': 60 * MINUTE_MS,
  '6h': 6 * 60 * MINUTE_MS,
  '24h': 24 * 60 * MINUTE_MS,
};

export const alignDown = (t: number, stepMs: number) => Math.floor(t / stepMs) * stepMs;

/**
 * The first rollup minute of "the last `windowMs`": rollups are per minute, so the window is widened to
 * the start of the minute that contains `now − windowMs` (every minute that overlaps it counts). The
 * seed cut at `now − windowMs` exactly, which made `1m` little more than the current, partial minute.
 */
export function windowStart(now: number, windowMs: number): Date {
  return new Date(alignDown(now - windowMs, MINUTE_MS));
}

export const TIME_RANGES: Record<MonitoringTimeRange, { rangeMs: number; bucketMs: number }> = {
  '1h': { rangeMs: 60 * MINUTE_MS, bucketMs: 5 * MINUTE_MS },
  '6h': { rangeMs: 6 * 60 * MINUTE_MS, bucketMs: 15 * MINUTE_MS },
  '24h': { rangeMs: 24 * 60 * MINUTE_MS, bucketMs: 60 * MINUTE_MS },
  // Truly 4 h (00:00, 04:00, … UTC); the seed rounded only the minute field and so gave hourly buckets.
  '7d': { rangeMs: 7 * 24 * 60 * MINUTE_MS, bucketMs: 240 * MINUTE_MS },
};

/**
 * The minutes a time series reads: from the start of the bucket that contains `now − range` (so the
 * first bucket is whole, not cut mid-way) up to `now` (the last bucket is the one in progress).
 * Buckets are aligned on the epoch, i.e. on UTC midnight, which all four sizes divide.
 */
export function seriesWindow(range: MonitoringTimeRange, now: number): { from: Date; to: Date; bucketMs: number } {
  const { rangeMs, bucketMs } = TIME_RANGES[range];
  return { from: new Date(alignDown(now - rangeMs, bucketMs)), to: new Date(now), bucketMs };
}

/**
 * Sums minute totals into aligned buckets, oldest first, with weighted rates. Buckets without calls
 * are left out (a point at 0 % would read as an outage), so no data gives three empty arrays, never
 * `{}` (the seed's other fault 20). `time` is the bucket's ISO-8601 start, date included.
 */
export function bucketSeries(rows: readonly MinuteTotals[], bucketMs: number): TimeSeriesDto {
  const buckets = new Map<number, CallCounts>();
  for (const row of rows) {
    const key = alignDown(row.minute.getTime(), bucketMs);
    const b = buckets.get(key) ?? { calls: 0, failures: 0, latencySumMs: 0 };
    b.calls += row.calls;
    b.failures += row.failures;
    b.latencySumMs += row.latencySumMs;
    buckets.set(key, b);
  }
  const series: TimeSeriesDto = { callVolume: [], successRate: [], latency: [] };
  for (const [start, counts] of [...buckets.entries()].sort((a, b) => a[0] - b[0])) {
    if (counts.calls <= 0) continue;
    const time = new Date(start).toISOString();
    const r = rates(counts);
    const point = (value: number): TimeSeriesPoint => ({ time, value });
    series.callVolume.push(point(counts.calls));
    series.successRate.push(point(r.successRate));
    series.latency.push(point(r.averageLatency));
  }
  return series;
}

/** An instance's stats plus its current gateway status. */
export type ClassifiedInstance = InstanceStats & { gatewayStatus: GatewayStatus };

const iso = (d: Date | null) => (d === null ? undefined : d.toISOString());

export function toMonitoringDto(i: ClassifiedInstance): ApiInstanceMonitoringDto {
  const r = rates(i);
  const dto: ApiInstanceMonitoringDto = {
    instanceId: i.id,
    projectId: i.projectId,
    projectName: i.projectName,
    businessId: i.businessId,
    apiIdentifier: i.apiIdentifier,
    apiType: i.apiType,
    status: i.status,
    gatewayStatus: i.gatewayStatus,
    successRate: r.successRate,
    failureRate: r.failureRate,
    averageLatency: r.averageLatency,
    // The lookaside gateway never sees calls in flight; the seed never filled it either.
    concurrency: 0,
    recentCalls: i.calls,
    successCount: Math.max(i.calls - i.failures, 0),
    failureCount: i.failures,
    ...routingView(i.routingParams),
  };
  const last = iso(i.lastReportedAt);
  if (last !== undefined) dto.lastReportedAt = last;
  return dto;
}

export function toObservationDto(i: ClassifiedInstance): InstanceObservationDto {
  const r = rates(i);
  const dto: InstanceObservationDto = {
    instanceId: i.id,
    projectId: i.projectId,
    projectName: i.projectName,
    apiIdentifier: i.apiIdentifier,
    apiType: i.apiType,
    businessId: i.businessId,
    instanceStatus: i.status,
    gatewayStatus: i.gatewayStatus,
    callCount: i.calls,
    successRate: r.successRate,
    averageLatency: r.averageLatency,
  };
  const last = iso(i.lastReportedAt);
  if (last !== undefined) dto.lastActiveTime = last;
  return dto;
}

const countWhere = <T>(list: readonly T[], pred: (t: T) => boolean) => list.reduce((n, t) => (pred(t) ? n + 1 : n), 0);

/** `healthyInstances` is the CURRENT status (the seed counted "had one healthy minute in 10 min"). */
export function monitoringOverview(list: readonly ClassifiedInstance[]): MonitoringOverviewDto {
  const total = sumCounts(list);
  const r = rates(total);
  return {
    totalInstances: list.length,
    healthyInstances: countWhere(list, (i) => i.gatewayStatus === 'HEALTHY'),
    activeInstances: countWhere(list, (i) => i.status === 'ACTIVE'),
    averageSuccessRate: r.successRate,
    averageLatency: r.averageLatency,
    totalCalls: total.calls,
  };
}

/** Every instance is classified (not only those with calls in the window) and DEGRADED is counted. */
export function observationOverview(list: readonly ClassifiedInstance[]): ObservationOverviewDto {
  const total = sumCounts(list);
  const r = rates(total);
  return {
    totalInstances: list.length,
    healthyInstances: countWhere(list, (i) => i.gatewayStatus === 'HEALTHY'),
    activeInstances: countWhere(list, (i) => i.status === 'ACTIVE'),
    faultyInstances: countWhere(list, (i) => i.gatewayStatus === 'FAULTY'),
    circuitBreakerInstances: countWhere(list, (i) => i.gatewayStatus === 'CIRCUIT_BREAKER_OPEN'),
    degradedInstances: countWhere(list, (i) => i.gatewayStatus === 'DEGRADED'),
    totalCallCount: total.calls,
    averageSuccessRate: r.successRate,
    averageLatency: r.averageLatency,
  };
}

export function statusStatistics(list: readonly ClassifiedInstance[]): StatusStatisticsDto {
  const byGatewayStatus: StatusStatisticsDto['byGatewayStatus'] = { HEALTHY: 0, DEGRADED: 0, FAULTY: 0, CIRCUIT_BREAKER_OPEN: 0 };
  const byInstanceStatus: StatusStatisticsDto['byInstanceStatus'] = { ACTIVE: 0, INACTIVE: 0, DEPRECATED: 0 };
  for (const i of list) {
    byGatewayStatus[i.gatewayStatus] += 1;
    byInstanceStatus[i.status] += 1;
  }
  return { totalInstances: list.length, byGatewayStatus, byInstanceStatus };
}

/** What the service reads; `MonitoringStore` implements it over Postgres, tests may fake it. */
export interface MonitoringReads {
  instanceStats(filter: { projectId?: string; status?: InstanceStatus; since: Date; until: Date }): Promise<InstanceStats[]>;
  minuteTotals(filter: { projectId?: string; since: Date; until: Date }): Promise<MinuteTotals[]>;
}

/** The part of the api's `BreakerCache` monitoring needs. */
export interface BreakerView {
  get(instanceId: string, now: number): BreakerSnapshot;
  refresh(): Promise<void>;
  readonly lastRefreshOk: boolean;
}

/** Reads rollups (never raw call rows) and the live breakers, and hands them to the maths above. */
export class MonitoringService {
  constructor(
    private readonly store: MonitoringReads,
    private readonly breakers: BreakerView,
    private readonly clock: () => number = Date.now,
  ) {}

  private async classified(filter: { projectId?: string; status?: InstanceStatus; gatewayStatus?: GatewayStatus }, windowMs: number) {
    const now = this.clock();
    const rows = await this.store.instanceStats({
      projectId: filter.projectId, status: filter.status, since: windowStart(now, windowMs), until: new Date(now),
    });
    const list = rows.map((r): ClassifiedInstance => ({ ...r, gatewayStatus: gatewayStatusOf(this.breakers.get(r.id, now)) }));
    return filter.gatewayStatus === undefined ? list : list.filter((i) => i.gatewayStatus === filter.gatewayStatus);
  }

  async overview(q: { projectId?: string }): Promise<MonitoringOverviewDto> {
    return monitoringOverview(await this.classified(q, OVERVIEW_WINDOW_MS));
  }

  /** Counters over the same 10 minutes as the overview (the seed showed the newest single minute, of any age). */
  async instances(q: { projectId?: string; status?: InstanceStatus; gatewayStatus?: GatewayStatus }): Promise<ApiInstanceMonitoringDto[]> {
    return (await this.classified(q, OVERVIEW_WINDOW_MS)).map(toMonitoringDto);
  }

  async timeseries(q: { timeRange: MonitoringTimeRange; projectId?: string }): Promise<TimeSeriesDto> {
    const w = seriesWindow(q.timeRange, this.clock());
    return bucketSeries(await this.store.minuteTotals({ projectId: q.projectId, since: w.from, until: w.to }), w.bucketMs);
  }

  async statusStatistics(q: { projectId?: string }): Promise<StatusStatisticsDto> {
    return statusStatistics(await this.classified(q, MINUTE_MS));
  }

  /** Reloads every breaker state from Redis now; `ok` is false when Redis did not answer. */
  async refresh(): Promise<{ ok: boolean; refreshedAt: string }> {
    await this.breakers.refresh();
    return { ok: this.breakers.lastRefreshOk, refreshedAt: new Date(this.clock()).toISOString() };
  }

  async observationOverview(q: ObservationFilter): Promise<ObservationOverviewDto> {
    return observationOverview(await this.classified(q, OBSERVATION_WINDOW_MS[q.timeWindow]));
  }

  async observationInstances(q: ObservationFilter): Promise<InstanceObservationDto[]> {
    return (await this.classified(q, OBSERVATION_WINDOW_MS[q.timeWindow])).map(toObservationDto);
  }
}

export interface ObservationFilter {
  timeWindow: ObservationTimeWindow;
  projectId?: string;
  status?: InstanceStatus;
  gatewayStatus?: GatewayStatus;
}
