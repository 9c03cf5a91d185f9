import type { RequestHandler, Request, Response } from 'express';
import { isStrategyName, type StrategyName } from '@apg/core';
import { hashApiKey } from '../apikeys/api-key';
import type { KeyAuthRecord } from '../apikeys/api-key-store';
import type { KeyCache } from '../apikeys/key-cache';
import { decodeQuotaOverrides, resolveQuotas, type ProjectQuotas, type QuotaPolicy } from '../quotas/project-quotas';
import { HttpError } from './http-error';

/** The tenant a request acts for. The project id always comes from the key, never from the body. */
export interface Tenant {
  projectId: string;
  keyId: string;
  defaultStrategy: StrategyName | null;
  panicMode: boolean;
  /** What this project may cost (defaults merged with its overrides). */
  quotas: ProjectQuotas;
}

/** api-key header, then `apiKey` query parameter, then `Authorization: Bearer` (the seed's order). */
export function extractApiKey(req: Request): string | null {
  const header = req.headers['api-key'];
  if (typeof header === 'string' && header.trim()) return header.trim();
  const query = req.query['apiKey'];
  if (typeof query === 'string' && query.trim()) return query.trim();
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && auth.startsWith('Bearer ') && auth.slice(7).trim()) return auth.slice(7).trim();
  return null;
}

export function tenantOf(res: Response): Tenant {
  const t = res.locals['tenant'] as Tenant | undefined;
  if (!t) throw new Error('tenantOf() used on a route without tenantAuth');
  return t;
}

/**
 * Checks key status, expiry and project status from the in-process cache: no DB round trip when warm.
 * The project's quotas are resolved here, once per cached record. `onMiss` runs before the database is asked about a key not known to be valid (see
 * {@link KeyCache.unverified}); the api charges it to the client's anonymous budget.
 */
export function tenantAuth(keys: KeyCache, opts: { quotas: QuotaPolicy; onMiss?: (req: Request) => void; now?: () => number }): RequestHandler {
  const now = opts.now ?? Date.now;
  // Resolved once per cached auth record (records are replaced, never mutated, when they change).
  const resolved = new WeakMap<KeyAuthRecord, ProjectQuotas>();
  const quotasOf = (auth: KeyAuthRecord) => {
    let q = resolved.get(auth);
    if (!q) resolved.set(auth, (q = resolveQuotas(opts.quotas, decodeQuotaOverrides(auth.quotaOverrides))));
    return q;
  };
  return async (req, res, next) => {
    if (req.method === 'OPTIONS') return next();
    const key = extractApiKey(req);
    if (!key) throw new HttpError('UNAUTHORIZED', 'missing API key: send it in the api-key header');
    const hash = hashApiKey(key);
    if (opts.onMiss && keys.unverified(hash)) opts.onMiss(req);
    const auth = await keys.get(hash);
    if (!auth || auth.status === 'REVOKED' || auth.status === 'EXPIRED' || (auth.expiresAt && auth.expiresAt.getTime() <= now())) {
      throw new HttpError('UNAUTHORIZED', 'invalid API key');
    }
    if (!auth.projectId) throw new HttpError('FORBIDDEN', 'API key is not linked to a project');
    if (auth.projectStatus !== 'ACTIVE') throw new HttpError('FORBIDDEN', 'project is inactive');
    res.locals['tenant'] = {
      projectId: auth.projectId,
      keyId: auth.keyId,
      defaultStrategy: isStrategyName(auth.defaultStrategy) ? auth.defaultStrategy : null,
      panicMode: auth.panicMode,
      quotas: quotasOf(auth),
    } satisfies Tenant;
    next();
  };
}
