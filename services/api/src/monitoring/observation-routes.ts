import { Router, type Request } from 'express';
import { ObservationQuerySchema, ok } from '@apg/contracts';
import { parseOr400 } from '../http/http-error';
import type { MonitoringService, ObservationFilter } from './monitoring-service';

/**
 * The seed's InstanceObservationRequest, validated: `timeWindow` is required (1m|10m|30m|1h|6h|24h,
 * any case) and an unknown window, instance status or gateway status is a 400 (the seed fell back to
 * 1h or ignored the filter).
 */
function observationFilter(req: Request): ObservationFilter {
  const q = parseOr400(ObservationQuerySchema, req.query);
  return { timeWindow: q.timeWindow, projectId: q.projectId, status: q.instanceStatus, gatewayStatus: q.gatewayStatus };
}

/** `/api/admin/observation/**` (admin-authenticated): what the console's monitoring page reads. */
export function observationRoutes(deps: { monitoring: MonitoringService }): Router {
  const router = Router();

  router.get('/overview', async (req, res) => {
    res.json(ok('观测概览数据获取成功', await deps.monitoring.observationOverview(observationFilter(req))));
  });

  router.get('/instances', async (req, res) => {
    res.json(ok('实例观测列表获取成功', await deps.monitoring.observationInstances(observationFilter(req))));
  });

  return router;
}
