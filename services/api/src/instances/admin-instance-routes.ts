import { Router } from 'express';
import {
  AdminInstanceBusinessPathSchema,
  AdminInstanceBusinessQuerySchema,
  AdminInstanceStatusPathSchema,
  AdminInstancesWithProjectsQuerySchema,
  AdminInstanceTypePathSchema,
  AdminProjectQuerySchema,
  ok,
} from '@apg/contracts';
import { HttpError, idOr404, notFound, parseOr400 } from '../http/http-error';
import type { AdminInstanceStore } from './admin-instance-store';
import { toInstanceDto } from './instance-dto';

/**
 * `/api/admin/instances/**` (admin-authenticated): read-only, across projects. The fixed paths
 * (`/all`, `/with-projects`, `/status/..`, `/type/..`, `/business/..`) are declared before `/:id`.
 */
export function adminInstanceRoutes(deps: { instances: AdminInstanceStore }): Router {
  const router = Router();
  const store = deps.instances;

  router.get('/', async (req, res) => {
    const { projectId } = parseOr400(AdminProjectQuerySchema, req.query);
    res.json(ok('操作成功', (await store.listByProject(projectId)).map((r) => toInstanceDto(r))));
  });

  router.get('/all', async (_req, res) => {
    const all = await store.listWithProjects();
    res.json(ok('获取所有实例成功', all.map((i) => toInstanceDto(i.record, i.projectName))));
  });

  router.get('/with-projects', async (req, res) => {
    const filter = parseOr400(AdminInstancesWithProjectsQuerySchema, req.query);
    const found = await store.listWithProjects(filter);
    res.json(ok('获取实例列表成功', found.map((i) => toInstanceDto(i.record, i.projectName))));
  });

  router.get('/status/:status', async (req, res) => {
    const { status } = parseOr400(AdminInstanceStatusPathSchema, req.params);
    res.json(ok('操作成功', (await store.listByStatus(status)).map((r) => toInstanceDto(r))));
  });

  router.get('/type/:apiType', async (req, res) => {
    const { apiType } = parseOr400(AdminInstanceTypePathSchema, req.params);
    const { projectId } = parseOr400(AdminProjectQuerySchema, req.query);
    res.json(ok('操作成功', (await store.listByProject(projectId, apiType)).map((r) => toInstanceDto(r))));
  });

  router.get('/business/:businessId', async (req, res) => {
    const { businessId } = parseOr400(AdminInstanceBusinessPathSchema, req.params);
    const { projectId, apiType } = parseOr400(AdminInstanceBusinessQuerySchema, req.query);
    const found = await store.findByBusinessId(projectId, businessId, apiType);
    if (found.length === 0) throw notFound(`instance with businessId ${businessId} in project ${projectId}`);
    if (found.length > 1) {
      // The logical key is (project, apiType, businessId): without apiType the answer is ambiguous.
      const types = found.map((r) => r.apiType).join(', ');
      throw new HttpError('CONFLICT', `businessId ${businessId} is registered under several apiTypes (${types}); add ?apiType=`, [
        { field: 'apiType', message: `required to choose one of ${types}` },
      ]);
    }
    res.json(ok('操作成功', toInstanceDto(found[0]!)));
  });

  router.get('/:id', async (req, res) => {
    const id = idOr404(req.params['id'], 'instance');
    const record = await store.findById(id);
    if (!record) throw notFound(`instance ${id}`);
    res.json(ok('操作成功', toInstanceDto(record)));
  });

  return router;
}
