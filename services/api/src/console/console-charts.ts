import { latencyPercentile, type MonitoringTimeRange } from '@apg/contracts';
import type { SeriesBucket } from './console-series-store';

/** Each chart range and its bucket: about 60–90 points per chart, aligned to the epoch. */
export const CHART_RANGES: Record<MonitoringTimeRange, { rangeMs: number; bucketMs: number }> = {
  '1h': { rangeMs: 3_600_000, bucketMs: 60_000 },
  '6h': { rangeMs: 6 * 3_600_000, bucketMs: 5 * 60_000 },
  '24h': { rangeMs: 24 * 3_600_000, bucketMs: 15 * 60_000 },
  '7d': { rangeMs: 7 * 86_400_000, bucketMs: 2 * 3_600_000 },
};

export interface ChartPoint {
  /** ISO-8601 start of the bucket. */
  time: string;
  calls: number;
  /** successes / calls in [0, 1]; null without calls (a gap in the chart, not a 0 %). */
  successRate: number | null;
  avgLatencyMs: number | null;
  p95LatencyMs: number | null;
}

export interface ChartSeries {
  timeRange: MonitoringTimeRange;
  bucketMs: number;
  points: ChartPoint[];
}

const round = (v: number | null, digits = 1) => (v === null ? null : Math.round(v * 10 ** digits) / 10 ** digits);

/** One chart point from one bucket of rollups (pure). */
export function chartPoint(b: SeriesBucket): ChartPoint {
  const has = b.calls > 0;
  return {
    time: b.time.toISOString(),
    calls: b.calls,
    successRate: has ? round((b.calls - b.failures) / b.calls, 4) : null,
    avgLatencyMs: has ? round(b.latencySumMs / b.calls) : null,
    p95LatencyMs: round(latencyPercentile(b.histogram, 0.95)),
  };
}

/**
 * Every bucket of the range, empty ones included (calls 0, rates null), so a chart's x axis is the whole
 * range and a quiet hour shows as a gap instead of being skipped. Buckets outside the range are dropped.
 */
export function fillSeries(buckets: SeriesBucket[], range: MonitoringTimeRange, now: number): ChartSeries {
  const { rangeMs, bucketMs } = CHART_RANGES[range];
  const first = Math.floor((now - rangeMs) / bucketMs) * bucketMs;
  const byTime = new Map(buckets.map((b) => [b.time.getTime(), b]));
  const points: ChartPoint[] = [];
  for (let t = first; t <= now; t += bucketMs) {
    const b = byTime.get(t) ?? { time: new Date(t), calls: 0, failures: 0, latencySumMs: 0, histogram: [] };
    points.push(chartPoint(b));
  }
  return { timeRange: range, bucketMs, points };
}

/** Sums buckets into one (the "recent" figures of the overview): histograms added element-wise. */
export function mergeBuckets(buckets: SeriesBucket[], at: Date): SeriesBucket {
  const out: SeriesBucket = { time: at, calls: 0, failures: 0, latencySumMs: 0, histogram: [] };
  for (const b of buckets) {
    out.calls += b.calls;
    out.failures += b.failures;
    out.latencySumMs += b.latencySumMs;
    b.histogram.forEach((n, i) => {
      while (out.histogram.length <= i) out.histogram.push(0);
      out.histogram[i]! += n;
    });
  }
  return out;
}
