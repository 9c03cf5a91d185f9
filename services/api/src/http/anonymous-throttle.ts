import type { Request, RequestHandler } from 'express';
import { clientKey, type ClientThrottle } from '../quotas/client-throttle';
import { HttpError } from './http-error';

/** Takes one request from the client's budget, or throws 429 RATE_LIMITED with Retry-After. */
export function chargeClient(throttle: ClientThrottle, req: Request): void {
  // req.ip is the socket's address unless an operator configures express's `trust proxy`.
  const verdict = throttle.take(clientKey(req.ip ?? req.socket.remoteAddress));
  if (!verdict.ok) {
    throw new HttpError('RATE_LIMITED', 'too many requests from this address; retry after the time in Retry-After', undefined, {
      'Retry-After': String(verdict.retryAfterS),
    });
  }
}

/**
 * Throttles the routes anyone may call without a credential (`POST /api/projects`, `/api/health`,
 * `/api/openapi.json`): each costs database or Redis work, so an unthrottled flood from one address
 * would be paid by every tenant.
 */
export function anonymousThrottle(throttle: ClientThrottle): RequestHandler {
  return (req, _res, next) => {
    if (req.method === 'OPTIONS') return next();
    try {
      chargeClient(throttle, req);
      next();
    } catch (err) {
      next(err);
    }
  };
}
