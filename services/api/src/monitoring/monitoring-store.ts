import type { InstanceStatus } from '@apg/contracts';
import type { Db } from '@apg/platform';
import type { InstanceStats, MinuteTotals, MonitoringReads } from './monitoring-service';

interface InstanceStatsRow {
  id: string;
  project_id: string;
  project_name: string;
  api_identifier: string;
  api_type: string;
  business_id: string;
  routing_params: Record<string, unknown> | null;
  status: InstanceStatus;
  calls: number;
  failures: number;
  latency_sum_ms: number;
  last_minute: Date | null;
}

interface MinuteTotalsRow {
  minute: Date;
  calls: number;
  failures: number;
  latency_sum_ms: number;
}

const toStats = (r: InstanceStatsRow): InstanceStats => ({
  id: r.id,
  projectId: r.project_id,
  projectName: r.project_name,
  apiIdentifier: r.api_identifier,
  apiType: r.api_type,
  businessId: r.business_id,
  routingParams: r.routing_params ?? {},
  status: r.status,
  calls: Number(r.calls),
  failures: Number(r.failures),
  latencySumMs: Number(r.latency_sum_ms),
  lastReportedAt: r.last_minute,
});

const toMinute = (r: MinuteTotalsRow): MinuteTotals => ({
  minute: r.minute,
  calls: Number(r.calls),
  failures: Number(r.failures),
  latencySumMs: Number(r.latency_sum_ms),
});

/**
 * All SQL of monitoring and observation. It reads the ingestor's minute rollups, never the raw
 * `call_results` rows, and answers every list in ONE statement whatever the number of instances (the
 * seed ran one metrics query per instance: fault 25).
 *
 * Ids are compared as `bpchar` so the `char(32)` indexes stay usable (a `text` parameter would cast the
 * column instead), and without a length so an over-long id matches nothing rather than being cut.
 * Windows are `[since, until]` on the rollup's minute; `until` (the api's clock) keeps minutes stamped
 * in the future by a caller's skewed `callTimestamp` out of "recent" figures.
 */
export class MonitoringStore implements MonitoringReads {
  constructor(private readonly db: Db) {}

  /**
   * Every instance (of one project and status, when given) with its project's name, its rollup sums
   * over the window and the start of its newest reported minute of any age (one index probe per
   * instance on the rollups' primary key, inside the same statement).
   */
  async instanceStats(filter: { projectId?: string; status?: InstanceStatus; since: Date; until: Date }): Promise<InstanceStats[]> {
    const { rows } = await this.db.query<InstanceStatsRow>(
      'monitoring.instance_stats',
      `SELECT i.id, i.project_id, p.name AS project_name, i.api_identifier, i.api_type, i.business_id,
              i.routing_params, i.status,
              COALESCE(w.calls, 0) AS calls, COALESCE(w.failures, 0) AS failures,
              COALESCE(w.latency_sum_ms, 0) AS latency_sum_ms, l.minute AS last_minute
         FROM api_instances i
         JOIN projects p ON p.id = i.project_id
         LEFT JOIN (
           SELECT r.instance_id, sum(r.calls) AS calls, sum(r.failures) AS failures, sum(r.latency_sum_ms) AS latency_sum_ms
             FROM call_rollups_minute r
            WHERE r.minute >= $1 AND r.minute <= $2 AND ($3::bpchar IS NULL OR r.project_id = $3::bpchar)
            GROUP BY r.instance_id
         ) w ON w.instance_id = i.id
         LEFT JOIN LATERAL (
           SELECT r.minute FROM call_rollups_minute r
            WHERE r.instance_id = i.id AND r.minute <= $2 AND r.calls > 0
            ORDER BY r.minute DESC
            LIMIT 1
         ) l ON true
        WHERE ($3::bpchar IS NULL OR i.project_id = $3::bpchar)
          AND ($4::text IS NULL OR i.status = $4::text)
        ORDER BY i.created_at DESC, i.id`,
      [filter.since, filter.until, filter.projectId ?? null, filter.status ?? null],
    );
    return rows.map(toStats);
  }

  /**
   * The rollups of `[since, until]` summed over instances, one row per minute (at most 10,081 for 7 d);
   * bucketing is done by the caller so the maths stays pure. Only minutes of instances that still exist
   * count, so the series agrees with the overview and the instance list.
   */
  async minuteTotals(filter: { projectId?: string; since: Date; until: Date }): Promise<MinuteTotals[]> {
    const { rows } = await this.db.query<MinuteTotalsRow>(
      'monitoring.minute_totals',
      `SELECT r.minute, sum(r.calls) AS calls, sum(r.failures) AS failures, sum(r.latency_sum_ms) AS latency_sum_ms
         FROM call_rollups_minute r
         JOIN api_instances i ON i.id = r.instance_id
        WHERE r.minute >= $1 AND r.minute <= $2 AND ($3::bpchar IS NULL OR r.project_id = $3::bpchar)
        GROUP BY r.minute
        ORDER BY r.minute`,
      [filter.since, filter.until, filter.projectId ?? null],
    );
    return rows.map(toMinute);
  }
}
