import { Router } from 'express';
import {
  ApiKeyCreateRequestSchema,
  ProjectSearchQuerySchema,
  ProjectStatusPathSchema,
  ProjectQuotasRequestSchema,
  ProjectSettingsRequestSchema,
  ProjectStatusUpdateRequestSchema,
  ok,
  type ProjectSimpleDto,
} from '@apg/contracts';
import { isStrategyName, STRATEGY_NAMES } from '@apg/core';
import { newId } from '@apg/platform';
import { generateApiKey, hashApiKey, keyPrefix } from '../apikeys/api-key';
import { parseExpiry, toApiKeyDto } from '../apikeys/api-key-routes';
import type { ApiKeyStore } from '../apikeys/api-key-store';
import { HttpError, idOr404, notFound, parseOr400 } from '../http/http-error';
import type { Notifier } from '../notifier';
import { toProjectDto } from './project-dto';
import type { ProjectAdminService } from './project-admin-service';
import type { ProjectStore, ProjectWithKey } from './project-store';

const toDto = (p: ProjectWithKey) => toProjectDto(p.project, p.keyPrefix);

const projectIdOf = (raw: string | undefined) => idOr404(raw, 'project');

/** `/api/admin/projects/**` (admin-authenticated). Fixed paths come before `/:projectId`. */
export function adminProjectRoutes(deps: { projects: ProjectStore; admin: ProjectAdminService; keys: ApiKeyStore; notifier: Notifier }): Router {
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

  // Key rotation: issue another key for the project, move clients to it, then revoke the old one
  // (PUT /api/admin/apikeys/{id}/status). Every active key of the project selects, reports and signs events.
  router.get('/:projectId/keys', async (req, res) => {
    const id = projectIdOf(req.params['projectId']);
    if (!(await deps.projects.findById(id))) throw notFound(`project ${id}`);
    res.json(ok('项目 API Key 列表查询成功', (await deps.keys.listOfProject(id)).map((k) => toApiKeyDto(k))));
  });

  router.post('/:projectId/keys', async (req, res) => {
    const id = projectIdOf(req.params['projectId']);
    const body = parseOr400(ApiKeyCreateRequestSchema, req.body);
    const expiresAt = parseExpiry(body.expiresAt) ?? null;
    const plaintext = generateApiKey();
    const record = await deps.keys.insertForProject(id, { id: newId(), keyHash: hashApiKey(plaintext), keyPrefix: keyPrefix(plaintext), description: body.description ?? null, expiresAt });
    if (!record) throw notFound(`project ${id}`);
    // Replicas may hold a negative cache entry for this hash (a client that tried it early): drop them.
    await deps.notifier.publishRegistryChange({ kind: 'auth', projectId: id });
    res.json(ok('API Key 生成成功', toApiKeyDto(record, plaintext)));
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
