import { Router } from 'express';
import {
  ProjectSearchQuerySchema,
  ProjectStatusPathSchema,
  ProjectQuotasRequestSchema,
  ProjectSettingsRequestSchema,
  ProjectStatusUpdateRequestSchema,
  ok,
  type ProjectSimpleDto,
} from '@apg/contracts';
import { isStrategyName, STRATEGY_NAMES } from '@apg/core';
import { HttpError, idOr404, notFound, parseOr400 } from '../http/http-error';
import { toProjectDto } from './project-dto';
import type { ProjectAdminService } from './project-admin-service';
import type { ProjectStore, ProjectWithKey } from './project-store';

const toDto = (p: ProjectWithKey) => toProjectDto(p.project, p.keyPrefix);

const projectIdOf = (raw: string | undefined) => idOr404(raw, 'project');

/** `/api/admin/projects/**` (admin-authenticated). Fixed paths come before `/:projectId`. */
export function adminProjectRoutes(deps: { projects: ProjectStore; admin: ProjectAdminService }): Router {
  const router = Router();

  router.get('/', async (_req, res) => {
    res.json(ok('项目列表查询成功', (await deps.projects.findWithKeys()).map(toDto)));
  });

  router.get('/search', async (req, res) => {
    const { projectName } = parseOr400(ProjectSearchQuerySchema, req.query);
    res.json(ok('项目搜索成功', (await deps.projects.findWithKeys({ nameContains: projectName })).map(toDto)));
  });

  router.get('/statistics', async (_req, res) => {
    res.json(ok('项目统计信息查询成功', await deps.admin.statistics()));
  });

  router.get('/simple', async (_req, res) => {
    const simple: ProjectSimpleDto[] = (await deps.projects.list()).map((p) => ({ id: p.id, name: p.name }));
    res.json(ok('操作成功', simple));
  });

  router.get('/status/:status', async (req, res) => {
    const { status } = parseOr400(ProjectStatusPathSchema, req.params);
    res.json(ok('项目状态查询成功', (await deps.projects.findWithKeys({ status })).map(toDto)));
  });

  router.get('/:projectId', async (req, res) => {
    const id = projectIdOf(req.params['projectId']);
    const [found] = await deps.projects.findWithKeys({ id });
    if (!found) throw notFound(`project ${id}`);
    res.json(ok('项目详情查询成功', toDto(found)));
  });

  router.put('/:projectId/status', async (req, res) => {
    const id = projectIdOf(req.params['projectId']);
    const { status } = parseOr400(ProjectStatusUpdateRequestSchema, req.body);
    const updated = await deps.admin.setStatus(id, status);
    if (!updated) throw notFound(`project ${id}`);
    res.json(ok('项目状态修改成功', toDto(updated)));
  });

  router.put('/:projectId/settings', async (req, res) => {
    const id = projectIdOf(req.params['projectId']);
    const body = parseOr400(ProjectSettingsRequestSchema, req.body);
    let defaultStrategy = body.defaultStrategy;
    if (typeof defaultStrategy === 'string') {
      const upper = defaultStrategy.toUpperCase();
      if (!isStrategyName(upper)) {
        throw new HttpError('VALIDATION_FAILED', `unknown strategy "${defaultStrategy}"`, [{ field: 'defaultStrategy', message: `must be one of ${STRATEGY_NAMES.join(', ')}` }]);
      }
      defaultStrategy = upper;
    }
    const updated = await deps.admin.setSettings(id, { ...(defaultStrategy !== undefined ? { defaultStrategy } : {}), ...(body.panicMode !== undefined ? { panicMode: body.panicMode } : {}) });
    if (!updated) throw notFound(`project ${id}`);
    res.json(ok('项目设置修改成功', toDto(updated)));
  });

  router.put('/:projectId/quotas', async (req, res) => {
    const id = projectIdOf(req.params['projectId']);
    const body = parseOr400(ProjectQuotasRequestSchema, req.body);
    const patch = Object.fromEntries(Object.entries(body).filter((e): e is [string, number | null] => e[1] !== undefined));
    const updated = await deps.admin.setQuotas(id, patch);
    if (!updated) throw notFound(`project ${id}`);
    res.json(ok('项目配额修改成功', toDto(updated)));
  });

  router.delete('/:projectId', async (req, res) => {
    const id = projectIdOf(req.params['projectId']);
    if (!(await deps.admin.delete(id))) throw notFound(`project ${id}`);
    res.json(ok('项目删除成功'));
  });

  return router;
}
