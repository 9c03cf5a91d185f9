import { Router } from 'express';
import { buildOpenApiDocument, type OpenApiOptions } from './openapi-document';
import { ROUTE_CATALOG } from './route-catalog';

/**
 * `GET /api/openapi.json` (public): the document is built on the first request and then served from
 * memory; the catalog is static, so it never changes while the process runs.
 */
export function openapiRoutes(options: OpenApiOptions): Router {
  const router = Router();
  let document: string | null = null;
  router.get('/', (_req, res) => {
    document ??= JSON.stringify(buildOpenApiDocument(ROUTE_CATALOG, options));
    res.type('application/json').send(document);
  });
  return router;
}
