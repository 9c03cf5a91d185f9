import { Router } from 'express';
import { z } from 'zod';
import { ok } from '@apg/contracts';
import { secretsEqual } from '../apikeys/api-key';
import { chargeClient } from '../http/anonymous-throttle';
import { HttpError, parseOr400 } from '../http/http-error';
import type { ClientThrottle } from '../quotas/client-throttle';
import { clearSessionCookie, readCookie, SESSION_COOKIE, setSessionCookie, type CookieOptions } from './console-cookie';
import type { ConsoleSessions } from './console-sessions';
import { assertSameOrigin } from './csrf';

export const ConsoleLoginRequestSchema = z.object({ token: z.string().min(1).max(1024) });
export const ConsoleSessionDtoSchema = z.object({ authenticated: z.boolean(), expiresAt: z.string().optional() });

/**
 * `/api/console/session`: log in (the admin credential for an HttpOnly session cookie), ask whether the
 * cookie is still a session, log out. Every login attempt, right or wrong, is charged to the client
 * address's login budget (CONSOLE_LOGIN_*), so guessing ADMIN_TOKEN is throttled to a few tries a minute.
 */
export function consoleRoutes(deps: { adminToken: string; sessions: ConsoleSessions; loginThrottle: ClientThrottle; cookie: CookieOptions }): Router {
  const router = Router();

  router.post('/', async (req, res) => {
    assertSameOrigin(req);
    chargeClient(deps.loginThrottle, req);
    const { token } = parseOr400(ConsoleLoginRequestSchema, req.body);
    if (!secretsEqual(token, deps.adminToken)) throw new HttpError('UNAUTHORIZED', 'wrong admin credential');
    // A login replaces the session the browser had (no fixation of an old id).
    await deps.sessions.delete(readCookie(req, SESSION_COOKIE));
    const { id, session } = await deps.sessions.create();
    setSessionCookie(res, id, deps.sessions.lifetimeMs, deps.cookie);
    res.json(ok('登录成功', { authenticated: true, expiresAt: new Date(session.expiresAt).toISOString() }));
  });

  router.get('/', async (req, res) => {
    // 200 either way: "am I logged in?" is a question, not a failed request (and a browser logs every 401).
    const session = await deps.sessions.find(readCookie(req, SESSION_COOKIE));
    res.json(ok('操作成功', session ? { authenticated: true, expiresAt: new Date(session.expiresAt).toISOString() } : { authenticated: false }));
  });

  router.delete('/', async (req, res) => {
    assertSameOrigin(req);
    await deps.sessions.delete(readCookie(req, SESSION_COOKIE));
    clearSessionCookie(res, deps.cookie);
    res.json(ok('已退出登录'));
  });

  return router;
}
