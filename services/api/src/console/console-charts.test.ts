import { expect } from 'chai';
import { histogramOf } from '@apg/contracts';
import { CHART_RANGES, chartPoint, fillSeries, mergeBuckets } from './console-charts';

describe('console: chart maths', () => {
  const bucket = (t: number, calls: number, failures: number, latencies: number[]) => ({
    time: new Date(t), calls, failures, latencySumMs: latencies.reduce((s, v) => s + v, 0), histogram: histogramOf(latencies),
  });

  it('turns a bucket into rates, average and p95; no calls is a gap (null), not a zero', () => {
    const lat = Array.from({ length: 100 }, (_, i) => i + 1);
    const p = chartPoint(bucket(0, 100, 25, lat));
    expect(p.successRate).to.equal(0.75);
    expect(p.avgLatencyMs).to.equal(50.5);
    expect(p.p95LatencyMs).to.be.within(90, 100);
    const empty = chartPoint(bucket(0, 0, 0, []));
    expect(empty).to.deep.include({ calls: 0, successRate: null, avgLatencyMs: null, p95LatencyMs: null });
  });

  it('fills every bucket of each range, aligned to the bucket size, with the data where it falls', () => {
    const now = Date.UTC(2026, 10, 30, 12, 34, 56);
    for (const [range, { rangeMs, bucketMs }] of Object.entries(CHART_RANGES)) {
      const at = Math.floor(now / bucketMs) * bucketMs;
      const s = fillSeries([bucket(at, 3, 1, [10, 20, 30])], range as keyof typeof CHART_RANGES, now);
      expect(s.bucketMs).to.equal(bucketMs);
      expect(s.points.length, range).to.equal(Math.floor(now / bucketMs) - Math.floor((now - rangeMs) / bucketMs) + 1);
      for (const pt of s.points) expect(Date.parse(pt.time) % bucketMs, range).to.equal(0);
      expect(s.points.at(-1)!.calls, range).to.equal(3);
      expect(s.points.filter((pt) => pt.calls > 0), range).to.have.length(1);
    }
  });

  it('drops buckets outside the range', () => {
    const now = Date.UTC(2026, 10, 30, 12, 0, 0);
    const s = fillSeries([bucket(now - 2 * 3_600_000, 9, 0, [5])], '1h', now);
    expect(s.points.every((p) => p.calls === 0)).to.equal(true);
  });

  it('merges buckets by summing counts and histograms element-wise', () => {
    const m = mergeBuckets([bucket(0, 2, 1, [1, 100]), bucket(60_000, 1, 0, [5000])], new Date(0));
    expect(m).to.deep.include({ calls: 3, failures: 1, latencySumMs: 5101 });
    expect(m.histogram.reduce((s, n) => s + n, 0)).to.equal(3);
    expect(m.histogram).to.deep.equal(histogramOf([1, 100, 5000]));
  });
});
