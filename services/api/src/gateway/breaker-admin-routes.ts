import { Router } from 'express';
import { z } from 'zod';
import { ok } from '@apg/contracts';
import { notFound, parseOr400 } from '../http/http-error';
import type { AdminInstanceStore } from '../instances/admin-instance-store';
import type { BreakerAdmin } from './breaker-admin';

export const BreakerModeRequestSchema = z.object({ mode: z.enum(['FORCED_OPEN', 'FORCED_CLOSED', 'AUTO']) });

/**
 * `/api/admin/instances/{id}/breaker` (force a state, or back to AUTO) and `/api/admin/instances/{id}/state`
 * (live window, breaker, effective config and the last transitions).
 */
export function breakerAdminRoutes(deps: { instances: AdminInstanceStore; breakers: BreakerAdmin }): Router {
  const router = Router();
  const load = async (id: string) => {
    const instance = await deps.instances.findById(id);
    if (!instance) throw notFound(`instance ${id}`);
    return instance;
  };

  router.post('/:id/breaker', async (req, res) => {
    const body = parseOr400(BreakerModeRequestSchema, req.body);
    const record = await deps.breakers.force(await load(req.params['id']), body.mode);
    res.json(ok('熔断状态已更新', { instanceId: req.params['id'], mode: body.mode, breaker: record }));
  });

  router.get('/:id/state', async (req, res) => {
    res.json(ok('操作成功', await deps.breakers.state(await load(req.params['id']))));
  });

  router.get('/:id/transitions', async (req, res) => {
    const state = await deps.breakers.state(await load(req.params['id']));
    res.json(ok('操作成功', state.transitions));
  });

  return router;
}
