import { Router } from 'express';
import { z } from 'zod';
import { AdminProjectQuerySchema, EntityIdSchema, TimeSeriesQuerySchema, latencyPercentile, ok, type ProjectStatisticsDto } from '@apg/contracts';
import type { AdminInstanceStore } from '../instances/admin-instance-store';
import type { AggregatorHeartbeatWatch } from '../gateway/aggregator-heartbeat-watch';
import type { BreakerVerdicts } from '../gateway/breaker-verdicts';
import type { PipelineWatch, StageReport } from '../health/pipeline-watch';
import { idOr404, notFound, parseOr400 } from '../http/http-error';
import type { BreakerStream } from './breaker-stream';
import { CHART_RANGES, chartPoint, fillSeries, mergeBuckets, type ChartPoint } from './console-charts';
import type { ConsoleSeriesStore } from './console-series-store';
import type { DlqFigures, DlqWatch } from './dlq-watch';

export const ConsoleSeriesQuerySchema = TimeSeriesQuerySchema.extend({
  instanceId: z.preprocess((v) => (v === '' ? undefined : v), EntityIdSchema.optional()),
});
export const ConsoleLatencyQuerySchema = z.object({
  minutes: z.coerce.number().int().min(1).max(60).default(5),
});

/** Latency percentiles of one instance over its last minutes of rollups (the console's live window). */
export interface InstanceLatencyDto {
  minutes: number;
  calls: number;
  p50LatencyMs: number | null;
  p95LatencyMs: number | null;
  p99LatencyMs: number | null;
}

/** The "recent" figures of the overview cover this many minutes of rollups. */
const RECENT_MINUTES = 5;

export interface ConsoleOverviewDto {
  statistics: ProjectStatisticsDto;
  /** Registered instances by live breaker state (CLOSED includes every instance never reported on). */
  breakerStates: Record<string, number>;
  recent: { minutes: number; calls: number; callsPerMinute: number; successRate: number | null; p95LatencyMs: number | null; avgLatencyMs: number | null };
  pipeline: { ingestor: StageReport; aggregator: StageReport & { heartbeatAgeMs: number | null } };
  dlq: DlqFigures;
  generatedAt: string;
}

export interface ConsoleAdminDeps {
  series: ConsoleSeriesStore;
  statistics: () => Promise<ProjectStatisticsDto>;
  verdicts: BreakerVerdicts;
  pipeline: PipelineWatch;
  heartbeat: AggregatorHeartbeatWatch;
  dlq: DlqWatch;
  stream: BreakerStream;
  instances: AdminInstanceStore;
  now?: () => number;
}

/** `/api/admin/console/**`: the aggregates the console's screens read, and its live breaker stream. */
export function consoleAdminRoutes(deps: ConsoleAdminDeps): Router {
  const router = Router();
  const now = deps.now ?? Date.now;

  router.get('/overview', async (_req, res) => {
    const at = now();
    const minute = Math.floor(at / 60_000) * 60_000;
    const [statistics, recentBuckets, dlq] = await Promise.all([
      deps.statistics(),
      deps.series.series({ since: new Date(minute - (RECENT_MINUTES - 1) * 60_000), until: new Date(at), bucketMs: 60_000 }),
      deps.dlq.figures(),
    ]);
    const recent: ChartPoint = chartPoint(mergeBuckets(recentBuckets, new Date(minute)));
    const census = deps.verdicts.census(at).states;
    const breakerStates: Record<string, number> = { CLOSED: 0, OPEN: 0, HALF_OPEN: 0, FORCED_OPEN: 0, FORCED_CLOSED: 0 };
    let notClosed = 0;
    for (const [state, n] of census) {
      if (state === 'CLOSED') continue;
      breakerStates[state] = n;
      notClosed += n;
    }
    breakerStates['CLOSED'] = Math.max(0, statistics.instances.total - notClosed);
    const data: ConsoleOverviewDto = {
      statistics,
      breakerStates,
      recent: {
        minutes: RECENT_MINUTES,
        calls: recent.calls,
        callsPerMinute: Math.round((recent.calls / RECENT_MINUTES) * 10) / 10,
        successRate: recent.successRate,
        p95LatencyMs: recent.p95LatencyMs,
        avgLatencyMs: recent.avgLatencyMs,
      },
      pipeline: {
        ingestor: deps.pipeline.report('ingestor'),
        aggregator: { ...deps.pipeline.report('aggregator'), heartbeatAgeMs: deps.heartbeat.ageMs(at) },
      },
      dlq,
      generatedAt: new Date(at).toISOString(),
    };
    res.json(ok('操作成功', data));
  });

  router.get('/series', async (req, res) => {
    const q = parseOr400(ConsoleSeriesQuerySchema, req.query);
    const at = now();
    const { rangeMs, bucketMs } = CHART_RANGES[q.timeRange];
    const buckets = await deps.series.series({
      since: new Date(Math.floor((at - rangeMs) / bucketMs) * bucketMs),
      until: new Date(at),
      bucketMs,
      ...(q.projectId ? { projectId: q.projectId } : {}),
      ...(q.instanceId ? { instanceId: q.instanceId } : {}),
    });
    res.json(ok('操作成功', fillSeries(buckets, q.timeRange, at)));
  });

  // The live breaker state of every instance of a project, as this replica decides with it (the aggregator's
  // record, or the local breaker while the aggregator is away); the stream then brings the changes.
  router.get('/breakers', async (req, res) => {
    const { projectId } = parseOr400(AdminProjectQuerySchema, req.query);
    const at = now();
    const rows = (await deps.instances.listByProject(projectId)).map((i) => {
      const r = deps.verdicts.verdict(i.id, at).record;
      return { instanceId: i.id, state: r.state, since: r.since, reason: r.reason };
    });
    res.json(ok('操作成功', rows));
  });

  router.get('/instances/:id/latency', async (req, res) => {
    const id = idOr404(req.params['id'], 'instance');
    if (!(await deps.instances.findById(id))) throw notFound(`instance ${id}`);
    const { minutes } = parseOr400(ConsoleLatencyQuerySchema, req.query);
    const at = now();
    const minute = Math.floor(at / 60_000) * 60_000;
    const merged = mergeBuckets(await deps.series.series({ since: new Date(minute - (minutes - 1) * 60_000), until: new Date(at), bucketMs: 60_000, instanceId: id }), new Date(minute));
    const q = (p: number) => {
      const v = latencyPercentile(merged.histogram, p);
      return v === null ? null : Math.round(v * 10) / 10;
    };
    const data: InstanceLatencyDto = { minutes, calls: merged.calls, p50LatencyMs: q(0.5), p95LatencyMs: q(0.95), p99LatencyMs: q(0.99) };
    res.json(ok('操作成功', data));
  });

  // Content negotiation keeps this one route usable by both: a browser's EventSource asks for
  // text/event-stream and gets the live stream; any other client gets a JSON answer at once.
  router.get('/breaker-events', (req, res) => {
    if (req.accepts(['application/json', 'text/event-stream']) === 'text/event-stream' && req.headers.accept?.includes('text/event-stream')) {
      deps.stream.open(req, res);
      return;
    }
    res.json(ok('操作成功', { streams: deps.stream.size, hint: 'send Accept: text/event-stream for the live stream' }));
  });

  return router;
}
