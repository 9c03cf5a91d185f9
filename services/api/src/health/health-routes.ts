import { Router } from 'express';
import { ok } from '@apg/contracts';
import type { Db, Redis } from '@apg/platform';
import type { BreakerCache } from '../gateway/breaker-cache';
import type { ReportProducer } from '../gateway/report-producer';

export interface DependencyReport {
  postgres: { status: 'UP' | 'DOWN' };
  redis: { status: 'UP' | 'DOWN'; breakerSnapshotAgeMs: number | null };
  kafka: { status: 'UP' | 'DOWN' };
}

export async function checkDependencies(deps: { db: Db; redis: Redis; breakers: BreakerCache; producer: ReportProducer }): Promise<DependencyReport> {
  const within = <T>(p: Promise<T>) =>
    Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 1000).unref())]).catch(() => false);
  const [pgUp, redisUp] = await Promise.all([within(deps.db.ping()), within(deps.redis.ping())]);
  return {
    postgres: { status: pgUp ? 'UP' : 'DOWN' },
    redis: {
      status: redisUp ? 'UP' : 'DOWN',
      breakerSnapshotAgeMs: deps.breakers.lastRefreshAt ? Date.now() - deps.breakers.lastRefreshAt : null,
    },
    kafka: { status: deps.producer.isConnected() ? 'UP' : 'DOWN' },
  };
}

/**
 * `GET /api/health`: always 200 while the process serves (the compose health check and AgentX read
 * it that way), with `status` DEGRADED and each dependency's state when one is down.
 */
export function healthRoutes(deps: Parameters<typeof checkDependencies>[0] & { version: string }): Router {
  const router = Router();
  router.get('/', async (_req, res) => {
    const dependencies = await checkDependencies(deps);
    const up = [dependencies.postgres, dependencies.redis, dependencies.kafka].every((d) => d.status === 'UP');
    res.json(ok('服务运行正常', {
      status: up ? 'UP' : 'DEGRADED',
      service: 'API Premium Gateway',
      version: deps.version,
      timestamp: new Date().toISOString(),
      dependencies,
    }));
  });
  return router;
}
