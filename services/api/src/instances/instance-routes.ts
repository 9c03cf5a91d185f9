import { Router, type Request } from 'express';
import {
  InstanceBatchCreateRequestSchema,
  InstanceBatchDeleteRequestSchema,
  InstanceCreateRequestSchema,
  InstancePathSchema,
  InstanceUpdateRequestSchema,
  ok,
  type InstanceCreateRequest,
  type InstanceStatus,
} from '@apg/contracts';
import { newId } from '@apg/platform';
import type { BreakerStateStore } from '../gateway/breaker-state-store';
import { HttpError, notFound, parseOr400 } from '../http/http-error';
import { tenantOf } from '../http/tenant-auth';
import { checkBatchItems, checkJsonSize, quotaExceeded, type ProjectQuotas } from '../quotas/project-quotas';
import type { Notifier } from '../notifier';
import { toInstanceDto } from './instance-dto';
import type { InstanceInput, InstancePatch, InstanceStore } from './instance-store';

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

/** `/{apiType}/{businessId}` of the path; a bad apiType is a 400 VALIDATION_FAILED. */
const pathOf = (req: Request) => parseOr400(InstancePathSchema, req.params);
const missing = (p: { apiType: string; businessId: string }) => notFound(`instance ${p.apiType}/${p.businessId}`);

/** Size quotas of one instance's JSON fields (`at` prefixes the field name inside a batch). */
function checkSizes(item: { routingParams?: unknown; metadata?: unknown }, quotas: ProjectQuotas, at = ''): void {
  checkJsonSize(`${at}metadata`, item.metadata, quotas.maxJsonBytes);
  checkJsonSize(`${at}routingParams`, item.routingParams, quotas.maxJsonBytes);
}

/** Registers within the project's instance quota, or answers QUOTA_EXCEEDED naming the figures. */
async function registerWithinQuota(instances: InstanceStore, items: InstanceInput[], quotas: ProjectQuotas) {
  const result = await instances.upsertManyWithinQuota(items, quotas.maxInstances);
  if (!result.ok) {
    throw quotaExceeded('instances', `this project may hold at most ${quotas.maxInstances} instances; it has ${result.current} and this request adds ${result.adding}`);
  }
  return result.results;
}

const STATUS_ACTIONS: { action: string; status: InstanceStatus; message: string }[] = [
  { action: 'activate', status: 'ACTIVE', message: 'API实例激活成功' },
  { action: 'deactivate', status: 'INACTIVE', message: 'API实例停用成功' },
  { action: 'deprecate', status: 'DEPRECATED', message: 'API实例标记为已弃用成功' },
];

/**
 * `/api/instances/**` (tenant-authenticated): registration (idempotent on project + apiType +
 * businessId), update, status changes and deletes. Every write announces
 * `{kind:'instances', projectId}` so the registry caches of all replicas drop the project.
 */
export function instanceRoutes(deps: { instances: InstanceStore; notifier: Notifier; breakerStates: BreakerStateStore }): Router {
  const router = Router();
  const changed = (projectId: string) => deps.notifier.publishRegistryChange({ kind: 'instances', projectId });

  router.post('/', async (req, res) => {
    const body = parseOr400(InstanceCreateRequestSchema, req.body);
    const { projectId, quotas } = tenantOf(res);
    checkSizes(body, quotas);
    const [result] = await registerWithinQuota(deps.instances, [toInput(projectId, body)], quotas);
    await changed(projectId);
    res.json(ok(result!.created ? 'API实例创建成功' : 'API实例已存在', toInstanceDto(result!.record)));
  });

  router.post('/batch', async (req, res) => {
    const { projectId, quotas } = tenantOf(res);
    checkBatchItems((req.body as { instances?: unknown } | undefined)?.instances, quotas.maxBatchItems);
    const body = parseOr400(InstanceBatchCreateRequestSchema, req.body);
    if (body.instances.length === 0) throw new HttpError('VALIDATION_FAILED', 'instances must not be empty', [{ field: 'instances', message: 'must not be empty' }]);
    body.instances.forEach((item, index) => checkSizes(item, quotas, `instances.${index}.`));
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
    const results = await registerWithinQuota(deps.instances, body.instances.map((i) => toInput(projectId, i)), quotas);
    await changed(projectId);
    // Like the seed, `data` lists the instances this call created; existing ones were updated in place.
    res.json(ok('批量API实例创建成功', results.filter((r) => r.created).map((r) => toInstanceDto(r.record))));
  });

  // Declared before `/:apiType/:businessId`, although the segment counts already keep them apart.
  router.delete('/batch', async (req, res) => {
    const { projectId, quotas } = tenantOf(res);
    checkBatchItems((req.body as { instances?: unknown } | undefined)?.instances, quotas.maxBatchItems);
    const body = parseOr400(InstanceBatchDeleteRequestSchema, req.body);
    const ids = await deps.instances.deleteByKeys(projectId, body.instances);
    if (ids.length > 0) {
      await changed(projectId);
      await deps.breakerStates.remove(ids);
    }
    res.json(ok('批量API实例删除成功', ids.length));
  });

  router.put('/:apiType/:businessId', async (req, res) => {
    const path = pathOf(req);
    const body = parseOr400(InstanceUpdateRequestSchema, req.body);
    const { projectId, quotas } = tenantOf(res);
    checkSizes(body, quotas);
    const patch: InstancePatch = { apiIdentifier: body.apiIdentifier };
    if (body.userId != null) patch.userId = body.userId;
    if (body.routingParams != null) patch.routingParams = body.routingParams;
    if (body.metadata != null) patch.metadata = body.metadata;
    const record = await deps.instances.update(projectId, path.apiType, path.businessId, patch);
    if (!record) throw missing(path);
    await changed(projectId);
    res.json(ok('API实例更新成功', toInstanceDto(record)));
  });

  // The seed answered 200 whether or not the row existed; a 404 is truthful and AgentX ignores it.
  router.delete('/:apiType/:businessId', async (req, res) => {
    const path = pathOf(req);
    const { projectId } = tenantOf(res);
    const ids = await deps.instances.deleteByKeys(projectId, [path]);
    if (ids.length === 0) throw missing(path);
    await changed(projectId);
    await deps.breakerStates.remove(ids);
    res.json(ok('API实例删除成功'));
  });

  for (const { action, status, message } of STATUS_ACTIONS) {
    // AgentX posts these with `Content-Type: application/json` and an empty body: no body is read.
    router.post(`/:apiType/:businessId/${action}`, async (req, res) => {
      const path = pathOf(req);
      const { projectId } = tenantOf(res);
      const record = await deps.instances.setStatus(projectId, path.apiType, path.businessId, status);
      if (!record) throw missing(path);
      await changed(projectId);
      res.json(ok(message, toInstanceDto(record)));
    });
  }

  return router;
}
