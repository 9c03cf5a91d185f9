import type { Router } from 'express';
import { z } from 'zod';
import { EntityIdSchema, InstanceCreateRequestSchema, InstanceStatusSchema, InstanceUpdateRequestSchema, ok } from '@apg/contracts';
import { newId } from '@apg/platform';
import type { BreakerStateStore } from '../gateway/breaker-state-store';
import { idOr404, notFound, parseOr400 } from '../http/http-error';
import type { Notifier } from '../notifier';
import type { ProjectStore } from '../projects/project-store';
import { checkJsonSize, decodeQuotaOverrides, quotaExceeded, resolveQuotas, type QuotaPolicy } from '../quotas/project-quotas';
import type { AdminInstanceStore } from './admin-instance-store';
import { toInstanceDto } from './instance-dto';
import type { InstancePatch, InstanceStore } from './instance-store';

/** `POST /api/admin/instances`: a tenant's registration, for a project the admin names. */
export const AdminInstanceCreateRequestSchema = InstanceCreateRequestSchema.extend({ projectId: EntityIdSchema });
export const AdminInstanceStatusRequestSchema = z.object({ status: InstanceStatusSchema });

export interface AdminInstanceWriteDeps {
  instances: InstanceStore;
  adminInstances: AdminInstanceStore;
  projects: ProjectStore;
  breakerStates: BreakerStateStore;
  notifier: Notifier;
  quotas: QuotaPolicy;
}

/**
 * The admin's instance writes (the console's register / edit / lifecycle / delete), on `router` (mounted at
 * `/api/admin/instances`). They go through the same store calls, schemas, quotas and announcements as a
 * tenant's `/api/instances/**`, addressed by instance id instead of by the key's project.
 */
export function addAdminInstanceWrites(router: Router, deps: AdminInstanceWriteDeps): void {
  const changed = (projectId: string) => deps.notifier.publishRegistryChange({ kind: 'instances', projectId });
  const load = async (raw: string | undefined) => {
    const id = idOr404(raw, 'instance');
    const record = await deps.adminInstances.findById(id);
    if (!record) throw notFound(`instance ${id}`);
    return record;
  };
  const quotasOf = async (projectId: string) => {
    const [found] = await deps.projects.findWithKeys({ id: projectId });
    if (!found) throw notFound(`project ${projectId}`);
    return resolveQuotas(deps.quotas, decodeQuotaOverrides(found.project.quotaOverrides));
  };
  const checkSizes = (item: { routingParams?: unknown; metadata?: unknown }, maxJsonBytes: number) => {
    checkJsonSize('metadata', item.metadata, maxJsonBytes);
    checkJsonSize('routingParams', item.routingParams, maxJsonBytes);
  };

  router.post('/', async (req, res) => {
    const body = parseOr400(AdminInstanceCreateRequestSchema, req.body);
    const quotas = await quotasOf(body.projectId);
    checkSizes(body, quotas.maxJsonBytes);
    const result = await deps.instances.upsertManyWithinQuota([{
      id: newId(),
      projectId: body.projectId,
      userId: body.userId ?? null,
      apiIdentifier: body.apiIdentifier,
      apiType: body.apiType,
      businessId: body.businessId,
      routingParams: body.routingParams ?? null,
      metadata: body.metadata ?? null,
    }], quotas.maxInstances);
    if (!result.ok) {
      throw quotaExceeded('instances', `this project may hold at most ${quotas.maxInstances} instances; it has ${result.current}`);
    }
    await changed(body.projectId);
    const [r] = result.results;
    res.json(ok(r!.created ? 'API实例创建成功' : 'API实例已存在', toInstanceDto(r!.record)));
  });

  router.put('/:id', async (req, res) => {
    const current = await load(req.params['id']);
    const body = parseOr400(InstanceUpdateRequestSchema, req.body);
    checkSizes(body, (await quotasOf(current.projectId)).maxJsonBytes);
    const patch: InstancePatch = { apiIdentifier: body.apiIdentifier };
    if (body.userId != null) patch.userId = body.userId;
    if (body.routingParams != null) patch.routingParams = body.routingParams;
    if (body.metadata != null) patch.metadata = body.metadata;
    const record = await deps.instances.update(current.projectId, current.apiType, current.businessId, patch);
    if (!record) throw notFound(`instance ${current.id}`);
    await changed(current.projectId);
    res.json(ok('API实例更新成功', toInstanceDto(record)));
  });

  router.put('/:id/status', async (req, res) => {
    const current = await load(req.params['id']);
    const { status } = parseOr400(AdminInstanceStatusRequestSchema, req.body);
    const record = await deps.instances.setStatus(current.projectId, current.apiType, current.businessId, status);
    if (!record) throw notFound(`instance ${current.id}`);
    await changed(current.projectId);
    res.json(ok('API实例状态修改成功', toInstanceDto(record)));
  });

  router.delete('/:id', async (req, res) => {
    const current = await load(req.params['id']);
    const ids = await deps.instances.deleteByKeys(current.projectId, [{ apiType: current.apiType, businessId: current.businessId }]);
    if (ids.length === 0) throw notFound(`instance ${current.id}`);
    await changed(current.projectId);
    await deps.breakerStates.remove(ids);
    res.json(ok('API实例删除成功'));
  });
}
