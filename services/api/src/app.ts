import { randomUUID } from 'node:crypto';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import express, { Router } from 'express';
import { Counter, type Registry } from 'prom-client';
import type { BreakerConfig, SmartConfig, StrategyName } from '@apg/core';
import { API_SERVICE_NAME, BreakerTransitionStore, newId, ProbeSlots, RedisKeys, startOpsServer, type Db, type IoMetrics, type Kafka, type Logger, type OpsServer, type Redis } from '@apg/platform';
import { serviceSigningKey, signWithSecret } from '@apg/contracts';
import { hashApiKey, keyPrefix } from './apikeys/api-key';
import { apiKeyRoutes } from './apikeys/api-key-routes';
import { ApiKeyStore } from './apikeys/api-key-store';
import { KeyCache } from './apikeys/key-cache';
import { AggregatorHeartbeatWatch } from './gateway/aggregator-heartbeat-watch';
import { BreakerAdmin } from './gateway/breaker-admin';
import { breakerAdminRoutes } from './gateway/breaker-admin-routes';
import { BreakerCache } from './gateway/breaker-cache';
import { BreakerStateStore } from './gateway/breaker-state-store';
import { BreakerVerdicts } from './gateway/breaker-verdicts';
import { LocalBreakers } from './gateway/local-breakers';
import { DEFAULT_CIRCUIT_OPTIONS, RedisCircuit, RedisUnavailableError, type CircuitOptions } from './gateway/redis-circuit';
import { gatewayRoutes } from './gateway/gateway-routes';
import { ProbePermits } from './gateway/probe-permits';
import { ReportProducer } from './gateway/report-producer';
import { LeaseSweeper } from './gateway/lease-sweeper';
import { RoutingState } from './gateway/routing-state';
import { SelectionService } from './gateway/selection-service';
import { healthRoutes, checkDependencies } from './health/health-routes';
import { PipelineWatch, type PipelineWatchOptions } from './health/pipeline-watch';
import { protectedHealthRoutes } from './health/protected-health-routes';
import { adminAuth } from './http/admin-auth';
import { errorMiddleware, notFoundHandler } from './http/error-middleware';
import { HttpError } from './http/http-error';
import { jsonBodyGuard } from './http/json-body-guard';
import { methodNotAllowed, requireJsonBody } from './http/request-guards';
import { tenantAuth } from './http/tenant-auth';
import { anonymousThrottle, chargeClient } from './http/anonymous-throttle';
import { ClientThrottle, DEFAULT_CLIENT_THROTTLE, type ClientThrottleOptions } from './quotas/client-throttle';
import { DEFAULT_QUOTAS, type ProjectQuotas, type QuotaPolicy } from './quotas/project-quotas';
import { requestContext } from './http/request-context';
import { cors, securityHeaders } from './http/web-defaults';
import { adminInstanceRoutes } from './instances/admin-instance-routes';
import { AdminInstanceStore } from './instances/admin-instance-store';
import { instanceRoutes } from './instances/instance-routes';
import { InstanceStore } from './instances/instance-store';
import { RegistryCache } from './instances/registry-cache';
import { monitoringRoutes } from './monitoring/monitoring-routes';
import { MonitoringService } from './monitoring/monitoring-service';
import { MonitoringStore } from './monitoring/monitoring-store';
import { observationRoutes } from './monitoring/observation-routes';
import { ApiMetrics, type ApiMetricsOptions } from './metrics/api-metrics';
import { RouteTemplates } from './metrics/route-template';
import { registerStateGauges } from './metrics/state-gauges';
import { DEFAULT_PG_CIRCUIT_OPTIONS, PgCircuit, type PgCircuitOptions } from './db/pg-circuit';
import { Notifier } from './notifier';
import { ROUTE_CATALOG } from './openapi/route-catalog';
import { openapiRoutes } from './openapi/openapi-routes';
import { adminProjectRoutes } from './projects/admin-project-routes';
import { ProjectAdminService } from './projects/project-admin-service';
import { projectRoutes } from './projects/project-routes';
import { ProjectService } from './projects/project-service';
import { ProjectStore } from './projects/project-store';
import { addAdminProjectConsole } from './projects/admin-project-console';
import { addAdminInstanceWrites } from './instances/admin-instance-writes';
import { BreakerStream } from './console/breaker-stream';
import { consoleAdminRoutes } from './console/console-admin-routes';
import { consoleRoutes } from './console/console-routes';
import { ConsoleSeriesStore } from './console/console-series-store';
import { ConsoleSessions } from './console/console-sessions';
import { consoleStatic, defaultConsoleDir } from './console/console-static';
import { DlqWatch } from './console/dlq-watch';
import { ReportDelivery } from './spool/report-delivery';
import { ReportSpool, type SpoolFsync } from './spool/report-spool';
import { SpoolMetrics } from './spool/spool-metrics';

/** The local write-ahead spool of reports Kafka cannot take (README "Operations", Kafka row). */
export interface ReportSpoolOptions {
  /** Owned by this process alone (a lock file with its pid); what it holds is drained on the next start. */
  dir: string;
  maxBytes: number;
  /** Spooled reports older than this are dropped (counted), not produced; at most the raw retention. */
  maxAgeMs: number;
  fsync: SpoolFsync;
}

export interface ApiOptions {
  port: number;
  host: string;
  adminToken: string;
  /** `EVENT_SIGNING_SECRET`: every event the api produces is signed with it (key id `svc:api`); the consumers verify. */
  eventSigningSecret: string;
  bodyLimit: string;
  corsOrigins: string[];
  reportTimeoutMs: number;
  authCacheTtlMs: number;
  registryCacheTtlMs: number;
  breakerRefreshMs: number;
  topic: string;
  redisPrefix: string;
  breakerDefaults: BreakerConfig;
  smart: SmartConfig;
  defaultStrategy: StrategyName;
  /** An unreported selection expires (and counts as a timeout) after this long. */
  leaseTtlMs: number;
  leaseSweepMs: number;
  affinityTtlMs: number;
  /** Selections per API key per second (all replicas together); 0 = unlimited. Capped by the project quota too. */
  selectRateLimit: number;
  /** Days raw call results are kept (the ingestor's RETENTION_DAYS): a report of an older call is a 400. */
  retentionDays: number;
  /** Per-project quota defaults (README "Quotas"). @default DEFAULT_QUOTAS */
  quotas?: ProjectQuotas;
  /** Budget of each client address on the anonymous routes. @default DEFAULT_CLIENT_THROTTLE */
  anonymousThrottle?: ClientThrottleOptions;
  /**
   * Port of a separate ops listener (`/healthz`, `/readyz`, `/metrics`) on `host`; when set, `/metrics`
   * is no longer served on the api port, so publishing the api does not publish its metrics.
   * @default undefined (everything on the api port)
   */
  opsPort?: number;
  /** Per-instance series, opt-in and capped (README "Metrics"). @default off */
  perInstanceMetrics?: ApiMetricsOptions;
  seedApiKey?: string;
  version: string;
  /** The consumer groups watched for stalls (`/api/health` names a stalled stage). */
  pipeline: Omit<PipelineWatchOptions, 'topic'>;
  /** The circuit around Redis (timeout per call, failures that open it, background probe period). */
  redisCircuit?: Partial<CircuitOptions>;
  /** The admin console (README "Admin console"). @default DEFAULT_CONSOLE_OPTIONS */
  console?: Partial<ConsoleOptions>;
  /** The dead-letter topic, whose rate the console shows. @default 'apg.call-results.dlq' */
  dlqTopic?: string;
  /** The fail-fast circuit around Postgres (failures that open it, background probe period). */
  pgCircuit?: Partial<PgCircuitOptions>;
  /**
   * How long after Postgres last answered the key, project and registry caches keep serving their copies
   * while it cannot answer (README "Outages"). @default 1800000 (30 min)
   */
  staleServeMaxMs?: number;
  /**
   * The report spool. @default a fresh directory under the OS temp dir, 64 MiB, 1 day (at most the retention),
   * fsync always — nothing survives a restart, which suits in-process tests only: `main.ts` always sets it.
   */
  reportSpool?: ReportSpoolOptions;
}

export interface ConsoleOptions {
  /** Lifetime of a console session (cookie Max-Age and Redis TTL). */
  sessionTtlMs: number;
  /** Mark the session cookie `Secure` (set when the api is reached over https). */
  cookieSecure: boolean;
  /** The built console; defaults to services/console/dist next to this package. */
  dir: string;
  /** Login attempts per client address: burst, then this many per minute. */
  loginBurst: number;
  loginPerMinute: number;
  /** A live event stream is ended (and the browser reconnects, authenticated again) after this long. */
  streamLifetimeMs: number;
}

export const DEFAULT_CONSOLE_OPTIONS: Readonly<Omit<ConsoleOptions, 'dir'>> = Object.freeze({
  sessionTtlMs: 8 * 3_600_000,
  cookieSecure: false,
  loginBurst: 10,
  loginPerMinute: 6,
  streamLifetimeMs: 300_000,
});

export interface ApiDeps {
  options: ApiOptions;
  log: Logger;
  db: Db;
  redis: Redis;
  /** A second connection, used only for SUBSCRIBE. */
  redisSub: Redis;
  kafka: Kafka;
  metrics: Registry;
  /** Named-I/O histogram (the api's Redis calls); none in tests that do not read it. */
  io?: IoMetrics;
}

export interface ApiService {
  app: express.Express;
  start(): Promise<number>;
  stop(): Promise<void>;
}

/** Builds the api: stores → caches → services → routes. Opens nothing until `start()`. */
export function createApi(deps: ApiDeps): ApiService {
  const { options, log, redis } = deps;
  const keys = new RedisKeys(options.redisPrefix);
  const metrics = new ApiMetrics(deps.metrics, options.perInstanceMetrics);
  // Every statement goes through the circuit (writes fail fast while Postgres is down); its probe does not.
  const pgCircuit = new PgCircuit(() => deps.db.ping(), log.child({ component: 'pg-circuit' }), { ...DEFAULT_PG_CIRCUIT_OPTIONS, ...options.pgCircuit }, deps.metrics);
  const db = deps.db.guarded(pgCircuit.guard);
  const staleServes = new Counter({ name: 'apg_api_stale_serves_total', help: 'Cached keys/projects or registry copies served past their TTL because Postgres could not answer, by cache', labelNames: ['cache'] as const, registers: [deps.metrics] });
  const maxStaleMs = options.staleServeMaxMs ?? 30 * 60_000;

  const keyStore = new ApiKeyStore(db);
  const projectStore = new ProjectStore(db);
  const instanceStore = new InstanceStore(db);

  const notifier = new Notifier(redis, deps.redisSub, keys, log.child({ component: 'notifier' }));
  const keyCache = new KeyCache((h) => keyStore.findAuthByHash(h), {
    ttlMs: options.authCacheTtlMs, negativeTtlMs: 2000, maxEntries: 50_000, maxStaleMs, onStale: () => staleServes.inc({ cache: 'api_keys' }),
  });
  const registry = new RegistryCache(instanceStore, { ttlMs: options.registryCacheTtlMs, maxStaleMs, onStale: () => staleServes.inc({ cache: 'registry' }) });
  const circuit = new RedisCircuit(() => redis.ping(), log.child({ component: 'redis-circuit' }), { ...DEFAULT_CIRCUIT_OPTIONS, ...options.redisCircuit }, deps.metrics, deps.io);
  const breakers = new BreakerCache(redis, keys, circuit, log.child({ component: 'breakers' }), { refreshMs: options.breakerRefreshMs });
  const heartbeat = new AggregatorHeartbeatWatch(redis, keys, circuit, log.child({ component: 'heartbeat' }), { pollMs: 500 });
  const localBreakers = new LocalBreakers();
  const verdicts = new BreakerVerdicts(breakers, localBreakers, heartbeat, registry, log.child({ component: 'local-breakers' }), { sweepMs: 1000 });
  const pipeline = new PipelineWatch(deps.kafka, { topic: options.topic, ...options.pipeline }, log.child({ component: 'pipeline' }), deps.io);
  notifier.onRegistryChange((c) => {
    if (c.kind === 'auth') return keyCache.invalidate(c);
    registry.invalidateProject(c.projectId);
    verdicts.projectChanged(c.projectId);
  });
  notifier.onBreakerChange((id, snapshot) => breakers.apply(id, snapshot));
  // Announcements made while Redis was unreachable are lost (or arrive late): reload the records at once
  // when it answers again instead of at the next periodic refresh.
  circuit.onClosed(() => void breakers.refresh());
  notifier.onReconnect(() => {
    keyCache.clear();
    registry.clear();
    void breakers.refresh();
  });

  const credential = serviceSigningKey(API_SERVICE_NAME, options.eventSigningSecret);
  const producer = new ReportProducer(deps.kafka, options.topic, log.child({ component: 'producer' }), {
    sign: (value) => signWithSecret(value, credential.keyId, credential.secret),
    timeoutMs: options.reportTimeoutMs, metrics: { duration: metrics.produceSeconds, errors: metrics.produceErrors }, ...(deps.io ? { io: deps.io } : {}),
  });
  const spoolOptions: ReportSpoolOptions = options.reportSpool ?? {
    dir: path.join(os.tmpdir(), 'apg-report-spool', `${process.pid}-${randomUUID().slice(0, 8)}`),
    maxBytes: 64 << 20,
    maxAgeMs: Math.min(86_400_000, options.retentionDays * 86_400_000),
    fsync: 'always',
  };
  // The gauges read the spool at scrape time (never before start() has run).
  const spoolMetrics = new SpoolMetrics(deps.metrics, () => spool.stats(), spoolOptions.maxBytes);
  const spool = new ReportSpool({ dir: spoolOptions.dir, maxBytes: spoolOptions.maxBytes, fsync: spoolOptions.fsync }, log.child({ component: 'spool' }), {
    spooled: (n) => spoolMetrics.spooled.inc(n),
    dropped: (reason, n) => spoolMetrics.dropped.inc({ reason }, n),
  });
  const delivery = new ReportDelivery(producer, spool, log.child({ component: 'spool' }), {
    maxAgeMs: spoolOptions.maxAgeMs, drained: (n) => spoolMetrics.drained.inc(n),
  });
  const spoolHealth = { stats: () => spool.stats(), maxBytes: spoolOptions.maxBytes };
  const routingState = new RoutingState(redis, keys, circuit);
  const permits = new ProbePermits(new ProbeSlots(redis, keys), circuit, (err) => {
    if (!(err instanceof RedisUnavailableError)) log.warn({ err: err.message }, 'probe slot not settled (it lapses with its lease)');
  });
  const selection = new SelectionService(registry, verdicts, permits, routingState, keys, {
    breakerDefaults: options.breakerDefaults,
    smart: options.smart,
    defaultStrategy: options.defaultStrategy,
    leaseTtlMs: options.leaseTtlMs,
    affinityTtlMs: options.affinityTtlMs,
    observer: {
      selected(strategy, outcome, seconds, instanceId, source) {
        metrics.selected(strategy, outcome, seconds);
        if (instanceId === null || source === null) return;
        metrics.decidedBy(source === 'local' ? 'local' : 'aggregator');
        if (metrics.instances.enabled) metrics.instances.selected(instanceId);
      },
      reportNoted(instanceId, success) {
        if (metrics.instances.enabled) metrics.instances.reported(instanceId, success);
      },
    },
  }, (err) => log.warn({ err: err.message }, 'decision not recorded (lease, in-flight, rpm, affinity)'));
  const sweeper = new LeaseSweeper(routingState, registry, delivery, log.child({ component: 'leases' }), {
    intervalMs: options.leaseSweepMs, leaseTtlMs: options.leaseTtlMs, batch: 500, expired: metrics.leasesExpired,
  });
  registerStateGauges(deps.metrics, {
    census: () => verdicts.census(),
    snapshotAgeMs: () => (breakers.lastRefreshAt === 0 ? null : Date.now() - breakers.lastRefreshAt),
    heartbeatAgeMs: () => heartbeat.ageMs(),
    openLeases: () => circuit.run('leases.count', () => redis.zcard(keys.leaseExpiries())),
    caches: {
      api_keys: () => keyCache.size,
      breaker_records: () => breakers.size,
      local_breakers: () => localBreakers.size,
      registry_groups: () => registry.sizes().groups,
      registry_instances: () => registry.sizes().instances,
    },
  });
  const projects = new ProjectService(db, projectStore, keyStore, notifier);
  const adminInstanceStore = new AdminInstanceStore(db);
  const breakerStates = new BreakerStateStore(redis, keys, circuit, log.child({ component: 'breaker-states' }), verdicts);
  const projectAdmin = new ProjectAdminService({
    db, projects: projectStore, keys: keyStore, instances: instanceStore, adminInstances: adminInstanceStore, breakerStates, notifier,
  });
  const breakerAdmin = new BreakerAdmin(redis, keys, breakers, new BreakerTransitionStore(db), options.breakerDefaults);
  const monitoring = new MonitoringService(new MonitoringStore(db), breakers);
  const consoleOptions: ConsoleOptions = { ...DEFAULT_CONSOLE_OPTIONS, dir: defaultConsoleDir(), ...options.console };
  const sessions = new ConsoleSessions(redis, keys, circuit, consoleOptions.sessionTtlMs);
  const breakerStream = new BreakerStream({ maxClients: 200, keepAliveMs: 15_000, maxLifetimeMs: consoleOptions.streamLifetimeMs });
  notifier.onBreakerChange((id, snapshot) => breakerStream.record(id, snapshot));
  const dlq = new DlqWatch(deps.kafka, options.dlqTopic ?? 'apg.call-results.dlq', log.child({ component: 'dlq-watch' }));
  const loginThrottle = new ClientThrottle({ ratePerSecond: consoleOptions.loginPerMinute / 60, burst: consoleOptions.loginBurst, maxClients: 10_000 });

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestContext({ log, metrics, routes: new RouteTemplates(ROUTE_CATALOG.map((r) => r.path)) }));
  app.use(securityHeaders);
  app.use(cors(options.corsOrigins));
  app.use(requireJsonBody);
  app.use(express.json({ limit: options.bodyLimit, type: ['application/json', 'application/*+json'] }));
  app.use(jsonBodyGuard());

  const quotaPolicy: QuotaPolicy = { defaults: options.quotas ?? { ...DEFAULT_QUOTAS }, perKeySelectCap: options.selectRateLimit };
  const throttle = new ClientThrottle(options.anonymousThrottle ?? { ...DEFAULT_CLIENT_THROTTLE });
  const anonymous = anonymousThrottle(throttle);
  // A key the cache cannot answer costs a database query: such misses (random keys, mostly) are charged
  // to the client's anonymous budget, so guessing keys cannot flood Postgres; known keys never pay.
  const withKey = tenantAuth(keyCache, { quotas: quotaPolicy, onMiss: (req) => chargeClient(throttle, req) });

  const api = Router();
  const mount = (path: string, router: Router, ...guards: express.RequestHandler[]) => {
    api.use(path, ...guards, router, methodNotAllowed(router));
  };
  // Before '/health', which would otherwise take this path unauthenticated.
  mount('/health/protected', protectedHealthRoutes(), withKey);
  mount('/health', healthRoutes({ db, redis, breakers, producer, circuit, pgCircuit, heartbeat, pipeline, spool: spoolHealth, version: options.version }), anonymous);
  mount('/projects', projectRoutes({ projects }), anonymous);
  mount('/gateway', gatewayRoutes({ selection, registry, delivery, state: routingState, log, leaseTtlMs: options.leaseTtlMs, retentionMs: options.retentionDays * 86_400_000 }), withKey);
  mount('/instances', instanceRoutes({ instances: instanceStore, notifier, breakerStates }), withKey);
  // Admin routes take the Bearer token or a console session cookie (with the same-site check on writes).
  const admin = adminAuth(options.adminToken, sessions);
  mount('/console/session', consoleRoutes({ adminToken: options.adminToken, sessions, loginThrottle, cookie: { secure: consoleOptions.cookieSecure } }));
  mount('/admin/apikeys', apiKeyRoutes({ keys: keyStore, notifier }), admin);
  const projectsRouter = adminProjectRoutes({ projects: projectStore, admin: projectAdmin, keys: keyStore, notifier });
  addAdminProjectConsole(projectsRouter, {
    projects: projectStore, projectService: projects, keys: keyStore, notifier, selection, routingState, quotas: quotaPolicy, leaseTtlMs: options.leaseTtlMs,
  });
  mount('/admin/projects', projectsRouter, admin);
  mount('/admin/instances', breakerAdminRoutes({ instances: adminInstanceStore, breakers: breakerAdmin }), admin);
  const instancesRouter = adminInstanceRoutes({ instances: adminInstanceStore });
  addAdminInstanceWrites(instancesRouter, { instances: instanceStore, adminInstances: adminInstanceStore, projects: projectStore, breakerStates, notifier, quotas: quotaPolicy });
  mount('/admin/instances', instancesRouter, admin);
  mount('/admin/monitoring', monitoringRoutes({ monitoring }), admin);
  mount('/admin/observation', observationRoutes({ monitoring }), admin);
  mount('/admin/console', consoleAdminRoutes({
    series: new ConsoleSeriesStore(db), statistics: () => projectAdmin.statistics(), verdicts, pipeline, heartbeat, dlq, stream: breakerStream,
    instances: adminInstanceStore,
  }), admin);
  mount('/openapi.json', openapiRoutes({ version: options.version, bodyLimit: options.bodyLimit }), anonymous);
  app.use('/api', api);
  app.use('/console', consoleStatic(consoleOptions.dir));

  const ops = Router();
  ops.get('/healthz', (_req, res) => void res.json({ status: 'UP' }));
  ops.get('/readyz', async (_req, res) => {
    // The aggregator's heartbeat is reported but does not gate readiness: this replica serves from its
    // local breakers while the aggregator is away.
    // Neither does Postgres or Redis: selects and reports go on from the caches and local breakers (README
    // "Outages"), so taking every replica out of a load balancer would turn a dependency outage into ours.
    const d = await checkDependencies({ db, redis, breakers, producer, circuit, pgCircuit, heartbeat, pipeline, spool: spoolHealth });
    const up = d.postgres.status === 'UP' && d.redis.status === 'UP';
    res.status(200).json({ status: up ? 'UP' : 'DEGRADED', dependencies: d });
  });
  ops.get('/metrics', async (_req, res) => {
    if (options.opsPort !== undefined) throw new HttpError('NOT_FOUND', 'metrics are served on the ops port');
    res.type(deps.metrics.contentType).send(await deps.metrics.metrics());
  });
  app.use(ops, methodNotAllowed(ops));
  app.use(notFoundHandler);
  app.use(errorMiddleware(log));

  let server: http.Server | null = null;
  let opsServer: OpsServer | null = null;

  async function seedKey(): Promise<void> {
    if (!options.seedApiKey) return;
    const added = await keyStore.insertIfAbsent({
      id: newId(),
      keyHash: hashApiKey(options.seedApiKey),
      keyPrefix: keyPrefix(options.seedApiKey),
      description: 'provisioned from SEED_API_KEY',
    });
    if (added) log.info({ keyPrefix: keyPrefix(options.seedApiKey) }, 'provisioned the configured seed API key');
  }

  return {
    app,
    async start() {
      await seedKey();
      await notifier.start();
      await breakers.start();
      await heartbeat.start();
      await pipeline.start();
      verdicts.start();
      // Before listening: a report must find the spool open, and what a previous process left goes out first.
      await spool.open();
      // In the background: selection must serve while Kafka is down; reports are spooled meanwhile.
      void producer.connect();
      delivery.start();
      sweeper.start();
      server = http.createServer(app);
      // AgentX's pool re-validates connections idle > 2 s; keep them open well past that (and past
      // typical load-balancer idle timeouts) so the chat path rarely pays for a new TCP handshake.
      server.keepAliveTimeout = 65_000;
      server.headersTimeout = 66_000;
      server.requestTimeout = 30_000;
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(options.port, options.host, () => resolve());
      });
      const port = (server.address() as { port: number }).port;
      if (options.opsPort !== undefined) {
        opsServer = await startOpsServer({
          port: options.opsPort, host: options.host, registry: deps.metrics,
          // Serving is what readiness means here (see /readyz above); dependencies show in /api/health.
          readiness: async () => ({ serving: server !== null }),
        });
        log.info({ port: opsServer.port() }, 'api ops listening');
      }
      log.info({ port }, 'api listening');
      return port;
    },
    async stop() {
      await opsServer?.close();
      opsServer = null;
      notifier.stop();
      breakers.stop();
      heartbeat.stop();
      verdicts.stop();
      circuit.stop();
      pgCircuit.stop();
      sweeper.stop();
      breakerStream.stop();
      await dlq.stop();
      if (server) {
        const s = server;
        server = null;
        s.closeIdleConnections();
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
      // The drainer stops between batches; what is still spooled stays on disk for the next start.
      await delivery.stop();
      await spool.close();
      await producer.stop();
      await pipeline.stop();
    },
  };
}

