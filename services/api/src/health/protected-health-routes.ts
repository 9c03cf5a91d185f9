import { Router } from 'express';
import { ok, type ProtectedHealthDto } from '@apg/contracts';

/**
 * `GET /api/health/protected`: lets a client check its key. Mounted behind tenant authentication
 * (the seed's was public despite its name, fault 5), so a 200 means the key and its project are usable.
 */
export function protectedHealthRoutes(): Router {
  const router = Router();
  router.get('/', (_req, res) => {
    const data: ProtectedHealthDto = { message: '这是一个受保护的接口', timestamp: new Date().toISOString(), authenticated: true };
    res.json(ok('API Key验证成功', data));
  });
  return router;
}
