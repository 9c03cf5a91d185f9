import { Router } from 'express';
import { MonitoringInstancesQuerySchema, MonitoringProjectQuerySchema, TimeSeriesQuerySchema, ok } from '@apg/contracts';
import { HttpError, parseOr400 } from '../http/http-error';
import type { MonitoringService } from './monitoring-service';

/**
 * `/api/admin/monitoring/**` (admin-authenticated), with the seed's paths, parameters and messages.
 * Every bad parameter is a real HTTP 400 `VALIDATION_FAILED` (the seed answered HTTP 200 with code 400,
 * or silently fell back to 24h); `refresh` and `statistics/status` do real work (the seed's were stubs).
 */
export function monitoringRoutes(deps: { monitoring: MonitoringService }): Router {
  const router = Router();
  const m = deps.monitoring;

  router.get('/overview', async (req, res) => {
    const q = parseOr400(MonitoringProjectQuerySchema, req.query);
    res.json(ok('监控概览数据获取成功', await m.overview(q)));
  });

  router.get('/instances', async (req, res) => {
    const q = parseOr400(MonitoringInstancesQuerySchema, req.query);
    res.json(ok('实例监控列表获取成功', await m.instances(q)));
  });

  router.get('/timeseries', async (req, res) => {
    const q = parseOr400(TimeSeriesQuerySchema, req.query);
    res.json(ok('时间序列数据获取成功', await m.timeseries(q)));
  });

  /** Reloads this api's breaker cache from Redis at once (projectId is accepted for the seed's sake). */
  router.post('/refresh', async (req, res) => {
    parseOr400(MonitoringProjectQuerySchema, req.query);
    const result = await m.refresh();
    if (!result.ok) throw new HttpError('DEPENDENCY_UNAVAILABLE', 'breaker states could not be reloaded from Redis; serving the last snapshot');
    res.json(ok('监控数据刷新成功', { refreshedAt: result.refreshedAt }));
  });

  router.get('/statistics/status', async (req, res) => {
    const q = parseOr400(MonitoringProjectQuerySchema, req.query);
    res.json(ok('实例状态统计获取成功', await m.statusStatistics(q)));
  });

  return router;
}
