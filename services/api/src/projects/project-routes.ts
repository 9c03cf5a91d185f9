import { Router } from 'express';
import { ProjectCreateRequestSchema, ok } from '@apg/contracts';
import { parseOr400 } from '../http/http-error';
import { toProjectDto } from './project-dto';
import type { ProjectService } from './project-service';

/** `POST /api/projects`: public like the seed's, but it only ever returns the project of the key it is given. */
export function projectRoutes(deps: { projects: ProjectService }): Router {
  const router = Router();
  router.post('/', async (req, res) => {
    const body = parseOr400(ProjectCreateRequestSchema, req.body);
    const { project } = await deps.projects.createForKey(body);
    res.json(ok('项目创建成功', toProjectDto(project, await deps.projects.prefixOf(project))));
  });
  return router;
}
