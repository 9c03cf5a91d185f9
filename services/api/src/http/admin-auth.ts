import type { RequestHandler } from 'express';
import { secretsEqual } from '../apikeys/api-key';
import { HttpError } from './http-error';

/** `/api/admin/**` needs `Authorization: Bearer <ADMIN_TOKEN>`; a tenant key is never an admin credential. */
export function adminAuth(adminToken: string): RequestHandler {
  return (req, _res, next) => {
    if (req.method === 'OPTIONS') return next();
    const auth = req.headers.authorization;
    const token = typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7) : '';
    if (!token) return next(new HttpError('UNAUTHORIZED', 'admin credential required: Authorization: Bearer <ADMIN_TOKEN>'));
    if (!secretsEqual(token, adminToken)) return next(new HttpError('UNAUTHORIZED', 'invalid admin credential'));
    next();
  };
}
