import { Router } from 'express';
import { InstanceBatchCreateRequestSchema, InstanceCreateRequestSchema, ok, type InstanceCreateRequest } from '@apg/contracts';
import { newId } from '@apg/platform';
import { HttpError, parseOr400 } from '../http/http-error';
import { tenantOf } from '../http/tenant-auth';
import type { Notifier } from '../notifier';
import { toInstanceDto } from './instance-dto';
import type { InstanceInput, InstanceStore } from './instance-store';

const toInput = (projectId: string, r: InstanceCreateRequest): InstanceInput => ({
  id: newId(),
  projectId,
  userId: r.userId ?? null,
  apiIdentifier: r.apiIdentifier,
  apiType: r.apiType,
  businessId: r.businessId,
  routingParams: r.routingParams ?? null,
  metadata: r.metadata ?? null,
});

/** `/api/instances/**` (tenant-authenticated): registration, idempotent on project + apiType + businessId. */
export function instanceRoutes(deps: { instances: InstanceStore; notifier: Notifier }): Router {
  const router = Router();
  const changed = (projectId: string) => deps.notifier.publishRegistryChange({ kind: 'instances', projectId });

  router.post('/', async (req, res) => {
    const body = parseOr400(InstanceCreateRequestSchema, req.body);
    const { projectId } = tenantOf(res);
    const [result] = await deps.instances.upsertMany([toInput(projectId, body)]);
    await changed(projectId);
    res.json(ok(result!.created ? 'API实例创建成功' : 'API实例已存在', toInstanceDto(result!.record)));
  });

  router.post('/batch', async (req, res) => {
    const body = parseOr400(InstanceBatchCreateRequestSchema, req.body);
    if (body.instances.length === 0) throw new HttpError('VALIDATION_FAILED', 'instances must not be empty', [{ field: 'instances', message: 'must not be empty' }]);
    const { projectId } = tenantOf(res);
    // Duplicates inside one request are rejected whole, naming the index (the seed inserted both).
    const seen = new Map<string, number>();
    body.instances.forEach((item, index) => {
      const key = `${item.apiType}|${item.businessId}`;
      const first = seen.get(key);
      if (first !== undefined) {
        throw new HttpError('VALIDATION_FAILED', `instances[${index}] duplicates instances[${first}] (apiType ${item.apiType}, businessId ${item.businessId})`, [
          { field: `instances.${index}.businessId`, message: `duplicates instances[${first}]` },
        ]);
      }
      seen.set(key, index);
    });
    const results = await deps.instances.upsertMany(body.instances.map((i) => toInput(projectId, i)));
    await changed(projectId);
    // Like the seed, `data` lists the instances this call created; existing ones were updated in place.
    res.json(ok('批量API实例创建成功', results.filter((r) => r.created).map((r) => toInstanceDto(r.record))));
  });

  return router;
}
