import type { Db } from '@apg/platform';

/** One bucket of the rollups: sums, and the latency histogram summed element-wise (index → count). */
export interface SeriesBucket {
  time: Date;
  calls: number;
  failures: number;
  latencySumMs: number;
  histogram: number[];
}

export interface SeriesFilter {
  since: Date;
  until: Date;
  bucketMs: number;
  projectId?: string;
  instanceId?: string;
}

interface SumsRow { bucket: Date; calls: string; failures: string; latency_sum_ms: string }
interface HistRow { bucket: Date; idx: number; n: string }

// Ids are compared as bpchar (see MonitoringStore) so the char(32) indexes stay usable.
const WHERE = `r.minute >= $1 AND r.minute <= $2
   AND ($4::bpchar IS NULL OR r.project_id = $4::bpchar)
   AND ($5::bpchar IS NULL OR r.instance_id = $5::bpchar)`;

/**
 * The console's charts: the ingestor's minute rollups bucketed in SQL (`date_bin`, aligned to the epoch) with
 * their latency histograms summed per bucket, so a percentile can be read per bucket. Two statements, each
 * one row per bucket (× histogram index): bounded by the range, not by the traffic. Only instances that still
 * exist count, as in MonitoringStore.
 */
export class ConsoleSeriesStore {
  constructor(private readonly db: Db) {}

  async series(f: SeriesFilter): Promise<SeriesBucket[]> {
    const params = [f.since, f.until, `${f.bucketMs} milliseconds`, f.projectId ?? null, f.instanceId ?? null];
    const [sums, hist] = await Promise.all([
      this.db.query<SumsRow>(
        'console.series_sums',
        `SELECT date_bin($3::interval, r.minute, TIMESTAMPTZ 'epoch') AS bucket,
                sum(r.calls) AS calls, sum(r.failures) AS failures, sum(r.latency_sum_ms) AS latency_sum_ms
           FROM call_rollups_minute r
           JOIN api_instances i ON i.id = r.instance_id
          WHERE ${WHERE}
          GROUP BY 1 ORDER BY 1`,
        params,
      ),
      this.db.query<HistRow>(
        'console.series_histograms',
        `SELECT date_bin($3::interval, r.minute, TIMESTAMPTZ 'epoch') AS bucket, (h.i - 1)::int AS idx, sum(h.n) AS n
           FROM call_rollups_minute r
           JOIN api_instances i ON i.id = r.instance_id
           CROSS JOIN LATERAL unnest(r.latency_hist) WITH ORDINALITY AS h(n, i)
          WHERE ${WHERE} AND h.n > 0
          GROUP BY 1, 2`,
        params,
      ),
    ]);
    const byTime = new Map<number, SeriesBucket>();
    for (const r of sums.rows) {
      byTime.set(r.bucket.getTime(), { time: r.bucket, calls: Number(r.calls), failures: Number(r.failures), latencySumMs: Number(r.latency_sum_ms), histogram: [] });
    }
    for (const r of hist.rows) {
      const b = byTime.get(r.bucket.getTime());
      if (!b) continue;
      while (b.histogram.length <= r.idx) b.histogram.push(0);
      b.histogram[r.idx] = Number(r.n);
    }
    return [...byTime.values()];
  }
}
