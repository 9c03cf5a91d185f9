import type { RequestHandler, Router } from 'express';
import { HttpError } from './http-error';

/**
 * 415 for a body that is not JSON. AgentX sends `application/json` with no charset, and
 * activate/deactivate send that type with an empty body: both must pass.
 */
export const requireJsonBody: RequestHandler = (req, _res, next) => {
  const length = req.headers['content-length'];
  const hasBody = req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
  if (!hasBody) return next();
  if (!req.is('application/json') && !req.is('application/*+json')) {
    return next(new HttpError('UNSUPPORTED_MEDIA_TYPE', `unsupported content type "${req.headers['content-type'] ?? ''}"; send application/json`));
  }
  next();
};

/**
 * Answers 405 (with an Allow header) for a path that exists under another method, instead of 404.
 * Walks the router's own route table, so it never drifts from the real routes.
 */
export function methodNotAllowed(router: Router): RequestHandler {
  return (req, _res, next) => {
    const allowed = new Set<string>();
    for (const layer of router.stack as { route?: { path: string; methods: Record<string, boolean> }; match?: (p: string) => boolean }[]) {
      if (!layer.route || !layer.match?.(req.path)) continue;
      for (const m of Object.keys(layer.route.methods)) allowed.add(m.toUpperCase());
    }
    if (allowed.size === 0) return next();
    next(new HttpError('METHOD_NOT_ALLOWED', `method ${req.method} not allowed for ${req.path}`, undefined, {
      Allow: [...allowed].join(', '),
    }));
  };
}
