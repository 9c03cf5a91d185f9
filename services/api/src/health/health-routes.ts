import { Router } from 'express';
import { ok } from '@apg/contracts';
import type { Db, Redis } from '@apg/platform';
import type { AggregatorHeartbeatWatch } from '../gateway/aggregator-heartbeat-watch';
import type { BreakerCache } from '../gateway/breaker-cache';
import type { RedisCircuit } from '../gateway/redis-circuit';
import type { ReportProducer } from '../gateway/report-producer';
import type { SpoolStats } from '../spool/report-spool';
import type { PipelineWatch, StageReport } from './pipeline-watch';

export interface DependencyReport {
  /**
   * `circuit` OPEN: statements fail at once (writes 503 DEPENDENCY_UNAVAILABLE) and the caches serve their
   * last copies (README "Outages"); absent where no circuit is installed.
   */
  postgres: { status: 'UP' | 'DOWN'; circuit?: 'CLOSED' | 'OPEN' };
  /** `circuit` OPEN: selects no longer wait for Redis and decide from in-process state. */
  redis: { status: 'UP' | 'DOWN'; breakerSnapshotAgeMs: number | null; circuit: 'CLOSED' | 'OPEN' };
  /**
   * DOWN: the producer is not connected (reports are spooled); SPOOLING: connected, but reports wait in the
   * local spool (being drained, or Kafka still refuses them). `spool` says how much waits.
   */
  kafka: { status: 'UP' | 'DOWN' | 'SPOOLING'; spool: { records: number; bytes: number; maxBytes: number; oldestAgeMs: number | null } };
  /** The stage that stores reports in Postgres, by its consumer group's lag (PipelineWatch). */
  ingestor: StageReport;
  /**
   * The pipeline stage that turns reports into breaker verdicts: STALLED when its group's events have
   * waited past `PIPELINE_STALL_MS`, else DOWN when its heartbeat is stale or missing (selects then decide
   * with this replica's local breakers), UNKNOWN when its lag could not be read for a while.
   */
  aggregator: Omit<StageReport, 'status'> & { status: 'UP' | 'DOWN' | StageReport['status']; heartbeatAgeMs: number | null; partitions: number | null };
}

export interface HealthDeps {
  db: Db;
  redis: Redis;
  breakers: BreakerCache;
  producer: ReportProducer;
  circuit: RedisCircuit;
  heartbeat: AggregatorHeartbeatWatch;
  pipeline: PipelineWatch;
  /** The report spool's figures and its size limit. */
  spool: { stats(): SpoolStats; maxBytes: number };
  /** The api's Postgres circuit, reported with the postgres dependency. */
  pgCircuit?: { readonly state: 'CLOSED' | 'OPEN' };
}

export async function checkDependencies(deps: HealthDeps): Promise<DependencyReport> {
  const within = <T>(p: Promise<T>) =>
    Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 1000).unref())]).catch(() => false);
  // While the circuit is open Redis is known to be down: no ping piles up on a dead connection.
  const [pgUp, redisUp] = await Promise.all([within(deps.db.ping()), deps.circuit.isOpen() ? false : within(deps.redis.ping())]);
  const now = Date.now();
  const beat = deps.heartbeat.last();
  const aggregator = deps.pipeline.report('aggregator');
  return {
    postgres: { status: pgUp ? 'UP' : 'DOWN', ...(deps.pgCircuit ? { circuit: deps.pgCircuit.state } : {}) },
    redis: {
      status: redisUp ? 'UP' : 'DOWN',
      breakerSnapshotAgeMs: deps.breakers.lastRefreshAt ? now - deps.breakers.lastRefreshAt : null,
      circuit: deps.circuit.state,
    },
    kafka: kafkaReport(deps, now),
    ingestor: deps.pipeline.report('ingestor'),
    aggregator: { ...aggregator, status: aggregatorStatus(aggregator.status, deps.heartbeat.isFresh(now)), heartbeatAgeMs: deps.heartbeat.ageMs(now), partitions: beat?.partitions ?? null },
  };
}

function kafkaReport(deps: HealthDeps, now: number): DependencyReport['kafka'] {
  const s = deps.spool.stats();
  const spool = { records: s.records, bytes: s.bytes, maxBytes: deps.spool.maxBytes, oldestAgeMs: s.oldestAt === null ? null : Math.max(0, now - s.oldestAt) };
  if (!deps.producer.isConnected()) return { status: 'DOWN', spool };
  return { status: s.records > 0 ? 'SPOOLING' : 'UP', spool };
}

/** A stalled group says more than a missing heartbeat (it stops when events wait); both beat a lag not read. */
export function aggregatorStatus(group: StageReport['status'], heartbeatFresh: boolean): DependencyReport['aggregator']['status'] {
  if (group === 'STALLED') return 'STALLED';
  if (!heartbeatFresh) return 'DOWN';
  return group;
}

/** The stages and dependencies that are not UP, by name (`stalled` in `/api/health`). */
export function stalledOf(d: DependencyReport): string[] {
  return (['postgres', 'redis', 'kafka', 'ingestor', 'aggregator'] as const).filter((k) => d[k].status !== 'UP');
}

/**
 * `GET /api/health`: always 200 while the process serves (the compose health check and AgentX read
 * it that way), with `status` DEGRADED, each dependency's state and the names of what is down
 * (`stalled`) when something is.
 */
export function healthRoutes(deps: HealthDeps & { version: string }): Router {
  const router = Router();
  router.get('/', async (_req, res) => {
    const dependencies = await checkDependencies(deps);
    const stalled = stalledOf(dependencies);
    res.json(ok('服务运行正常', {
      status: stalled.length === 0 ? 'UP' : 'DEGRADED',
      service: 'API Premium Gateway',
      version: deps.version,
      timestamp: new Date().toISOString(),
      stalled,
      dependencies,
    }));
  });
  return router;
}
