import type { RequestHandler } from 'express';
import { secretsEqual } from '../apikeys/api-key';
import { readCookie, SESSION_COOKIE } from '../console/console-cookie';
import type { ConsoleSessions } from '../console/console-sessions';
import { assertSameSite } from '../console/csrf';
import { HttpError } from './http-error';

/**
 * `/api/admin/**` needs `Authorization: Bearer <ADMIN_TOKEN>` (a tenant key is never an admin credential),
 * or a live console session cookie; a cookie-authenticated request that changes state must also pass the
 * same-site check (`assertSameSite`). A Bearer token is never combined with the cookie: when one is sent,
 * it alone decides.
 */
export function adminAuth(adminToken: string, sessions?: ConsoleSessions): RequestHandler {
  return (req, _res, next) => {
    if (req.method === 'OPTIONS') return next();
    const auth = req.headers.authorization;
    if (typeof auth === 'string' && auth.length > 0) {
      const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
      if (!token) return next(new HttpError('UNAUTHORIZED', 'admin credential required: Authorization: Bearer <ADMIN_TOKEN>'));
      if (!secretsEqual(token, adminToken)) return next(new HttpError('UNAUTHORIZED', 'invalid admin credential'));
      return next();
    }
    const sessionId = sessions ? readCookie(req, SESSION_COOKIE) : undefined;
    if (!sessions || sessionId === undefined) {
      return next(new HttpError('UNAUTHORIZED', 'admin credential required: Authorization: Bearer <ADMIN_TOKEN>'));
    }
    sessions.find(sessionId).then((session) => {
      if (!session) return next(new HttpError('UNAUTHORIZED', 'console session expired or logged out; log in again'));
      assertSameSite(req);
      next();
    }).catch(next);
  };
}
