import type { Router } from 'express';
import { z } from 'zod';
import { ApiKeyCreateRequestSchema, notBlank, ok } from '@apg/contracts';
import { isStrategyName } from '@apg/core';
import { newId } from '@apg/platform';
import { generateApiKey, hashApiKey, keyPrefix } from '../apikeys/api-key';
import { toApiKeyDto } from '../apikeys/api-key-routes';
import type { ApiKeyStore } from '../apikeys/api-key-store';
import type { RoutingState } from '../gateway/routing-state';
import type { SelectionService } from '../gateway/selection-service';
import { HttpError, idOr404, notFound, parseOr400 } from '../http/http-error';
import type { Notifier } from '../notifier';
import { decodeQuotaOverrides, resolveQuotas, type QuotaPolicy } from '../quotas/project-quotas';
import { toProjectDto } from './project-dto';
import type { ProjectService } from './project-service';
import type { ProjectStore } from './project-store';

/** `POST /api/admin/projects`: a project and the API key it is reached with, made together. */
export const AdminProjectCreateRequestSchema = z.object({
  name: notBlank('name', 128),
  description: z.string().max(2000).optional(),
  keyDescription: ApiKeyCreateRequestSchema.shape.description,
});

export interface AdminProjectConsoleDeps {
  projects: ProjectStore;
  projectService: ProjectService;
  keys: ApiKeyStore;
  notifier: Notifier;
  selection: SelectionService;
  routingState: RoutingState;
  quotas: QuotaPolicy;
  leaseTtlMs: number;
}

/**
 * What the console adds to `/api/admin/projects`: creating a project (a new key is generated for it, its
 * plaintext in this one answer, then only its prefix), and the selection playground, a real select for a
 * project as its key would make it, with `explain` always on.
 */
export function addAdminProjectConsole(router: Router, deps: AdminProjectConsoleDeps): void {
  router.post('/', async (req, res) => {
    const body = parseOr400(AdminProjectCreateRequestSchema, req.body);
    const plaintext = generateApiKey();
    const key = await deps.keys.insert({
      id: newId(),
      keyHash: hashApiKey(plaintext),
      keyPrefix: keyPrefix(plaintext),
      description: body.keyDescription ?? `project ${body.name}`,
      status: 'UNUSED',
      expiresAt: null,
    });
    await deps.notifier.publishRegistryChange({ kind: 'auth' });
    const { project } = await deps.projectService.createForKey({ name: body.name, ...(body.description !== undefined ? { description: body.description } : {}), apiKey: plaintext });
    const stored = await deps.keys.findById(key.id);
    res.json(ok('项目创建成功', { project: toProjectDto(project, key.keyPrefix), apiKey: toApiKeyDto(stored ?? key, plaintext) }));
  });

  // The lease a select takes is settled at once (as a report without an outcome would), so a playground run
  // never expires into a timeout against the instance. It is otherwise a real select: it counts against the
  // project's select rate and the instance's rpm, and in HALF_OPEN it may take a probe permit (retried after
  // the lease TTL), exactly what the same call from the project's key would do.
  router.post('/:projectId/select', async (req, res) => {
    const id = idOr404(req.params['projectId'], 'project');
    const [found] = await deps.projects.findWithKeys({ id });
    if (!found) throw notFound(`project ${id}`);
    const p = found.project;
    if (p.status !== 'ACTIVE') throw new HttpError('FORBIDDEN', 'project is inactive: its key selects nothing either');
    const request = deps.selection.parseRequest(req.body);
    const data = await deps.selection.select({
      projectId: p.id,
      keyId: p.apiKeyId ?? '',
      defaultStrategy: isStrategyName(p.defaultStrategy) ? p.defaultStrategy : null,
      panicMode: p.panicMode,
      quotas: resolveQuotas(deps.quotas, decodeQuotaOverrides(p.quotaOverrides)),
    }, { ...request, explain: true });
    await deps.routingState.reported(data.id, data.selectionId, Date.now(), deps.leaseTtlMs).catch(() => undefined);
    res.json(ok('API实例选择成功', data));
  });
}
