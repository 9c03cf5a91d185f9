import { performance } from 'node:perf_hooks';
import { expect } from 'chai';
import { freePort, serviceEnv, spawnApi, spawnService, type ChildService } from '../child-service';
import type { HttpClient } from '../http-client';
import { parseExposition, sumOf } from '../infra/exposition';
import { startTcpProxy, type TcpProxy } from '../ingest/tcp-proxy';
import { register, type Registered } from '../routing/routing-fixture';
import { openProbe, stackNames, type Probe, type StackNames } from '../stack';
import { createTenant, type TestTenant } from '../tenant';
import { testEnv } from '../test-env';
import { waitFor } from '../wait-for';

interface Health {
  status: string;
  stalled: string[];
  dependencies: { postgres: { status: string; circuit?: string } };
}

/** Outage phases last several times the cache TTLs the api runs with here (1 s). */
const PHASE_MS = 8000;
const TTL_MS = 1000;
const QUERY_TIMEOUT_MS = 1000;

/**
 * Issue 13 §1 on the real binaries: api A and the ingestor reach Postgres through a TCP proxy the test
 * cuts (connections reset and refused) and then hangs (bytes held, nothing answers); api B reaches it
 * directly. For phases much longer than the key and registry TTLs:
 * - every select and report on A for keys, projects and instances seen before the outage answers 200
 *   (the caches serve their last copies), and selects cost no more than before;
 * - writes on A answer 503 DEPENDENCY_UNAVAILABLE, at once when refused, within the statement timeout
 *   and then at once (circuit open) when hung — never a 500, never a hang;
 * - a key revoked on B is refused on A at once (the announcement over Redis carries the denial);
 * - the ingestor holds its batches and, once Postgres is back, every report is stored exactly once.
 */
describe('Postgres down for one api replica and the ingestor (real processes, TCP proxy)', function () {
  this.timeout(240_000);
  let names: StackNames;
  let probe: Probe;
  let proxy: TcpProxy;
  let apiA: Awaited<ReturnType<typeof spawnApi>>;
  let apiB: Awaited<ReturnType<typeof spawnApi>>;
  const children: ChildService[] = [];
  let ingestorOps: string;
  let kept: TestTenant;
  let revoked: TestTenant;
  let keptOnA: HttpClient;
  let revokedOnA: HttpClient;
  let instances: Registered[];
  let reportsOk = 0;

  before(async () => {
    names = stackNames();
    probe = await openProbe(names);
    const env = testEnv();
    const pg = new URL(env.databaseUrl);
    proxy = await startTcpProxy({ host: pg.hostname, port: Number(pg.port || 5432) });
    const viaProxy = proxy.rewrite(env.databaseUrl);
    const common = { ANON_RATE_PER_SECOND: '1000', ANON_BURST: '1000', QUOTA_SELECTS_PER_SECOND: '0' };
    apiA = await spawnApi(names, {
      ...common,
      DATABASE_URL: viaProxy,
      AUTH_CACHE_TTL_MS: String(TTL_MS),
      REGISTRY_CACHE_TTL_MS: String(TTL_MS),
      DATABASE_QUERY_TIMEOUT_MS: String(QUERY_TIMEOUT_MS),
      DATABASE_CONNECT_TIMEOUT_MS: String(QUERY_TIMEOUT_MS),
      PG_CIRCUIT_PROBE_MS: '250',
    });
    children.push(apiA);
    apiB = await spawnApi(names, common);
    children.push(apiB);
    const port = await freePort();
    ingestorOps = `http://127.0.0.1:${port}`;
    children.push(spawnService('ingestor', serviceEnv(names, { INGESTOR_PORT: String(port), DATABASE_URL: viaProxy, INGEST_MAX_BATCH_HOLD_MS: '2000' })));
    await waitFor('ingestor ready', async () => (await fetch(`${ingestorOps}/readyz`).catch(() => null))?.status === 200, { timeoutMs: 60_000 });

    kept = await createTenant(apiB);
    revoked = await createTenant(apiB);
    instances = await register(kept, [{ businessId: 'pg-out-1', apiIdentifier: 'pgout' }, { businessId: 'pg-out-2', apiIdentifier: 'pgout' }]);
    instances.push(...(await register(revoked, [{ businessId: 'pg-out-r', apiIdentifier: 'pgout' }])));
    keptOnA = apiA.http.with({ 'api-key': kept.apiKey });
    revokedOnA = apiA.http.with({ 'api-key': revoked.apiKey });
  });

  after(async () => {
    proxy?.resume();
    proxy?.restore();
    for (const c of children.reverse()) await c.kill('SIGTERM');
    await proxy?.close();
    await probe?.close();
  });

  const health = async (): Promise<Health> => (await apiA.http.get<{ data: Health }>('/api/health')).body.data;
  const metricsOfA = async () => parseExposition((await apiA.http.get('/metrics')).text);

  /** One select and one report of the selected instance; the latency of each. */
  async function selectAndReport(client: HttpClient): Promise<{ select: number; report: number; ms: number; reportMs: number; body: string }> {
    const t0 = performance.now();
    const sel = await client.post<{ data: { id: string; businessId: string } }>('/api/gateway/select-instance', { apiType: 'MODEL', apiIdentifier: 'pgout' });
    const ms = performance.now() - t0;
    if (sel.status !== 200) return { select: sel.status, report: 0, ms, reportMs: 0, body: sel.text };
    const t1 = performance.now();
    const rep = await client.post('/api/gateway/report-result', { instanceId: sel.body.data.id, businessId: sel.body.data.businessId, success: true, latencyMs: 12 });
    const reportMs = performance.now() - t1;
    if (rep.status === 200) reportsOk++;
    return { select: sel.status, report: rep.status, ms, reportMs, body: rep.text };
  }

  /** Selects and reports on A for `ms`; every failure with its body. */
  async function traffic(ms: number): Promise<{ n: number; failures: string[]; latencies: number[]; reportLatencies: number[] }> {
    const failures: string[] = [];
    const latencies: number[] = [];
    const reportLatencies: number[] = [];
    let n = 0;
    const until = Date.now() + ms;
    while (Date.now() < until) {
      const r = await selectAndReport(keptOnA);
      n++;
      latencies.push(r.ms);
      reportLatencies.push(r.reportMs);
      if (r.select !== 200 || r.report !== 200) failures.push(`${r.select}/${r.report} ${r.body}`);
      await new Promise((res) => setTimeout(res, 20));
    }
    return { n, failures, latencies, reportLatencies };
  }

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))]!;

  /** A write on A (register one instance): status, errorCode and how long it took. */
  async function timedWrite(i: number): Promise<{ status: number; errorCode: string | undefined; ms: number }> {
    const t0 = performance.now();
    const res = await keptOnA.post<{ errorCode?: string }>('/api/instances', { apiType: 'MODEL', apiIdentifier: 'pgout-w', businessId: `w-${i}-${Date.now()}` });
    return { status: res.status, errorCode: res.body.errorCode, ms: performance.now() - t0 };
  }

  let baseline: number[] = [];
  let reportBaseline: number[] = [];

  it('warms up: keys, projects and instances seen on A, reports flowing', async () => {
    const r = await traffic(2000);
    expect(r.failures).to.deep.equal([]);
    baseline = r.latencies;
    reportBaseline = r.reportLatencies;
    const rev = await selectAndReport(revokedOnA);
    expect(rev.select).to.equal(200);
    expect((await health()).dependencies.postgres.status).to.equal('UP');
  });

  it('Postgres refusing: 0 failed selects or reports, writes 503 DEPENDENCY_UNAVAILABLE at once, revocation on B applies on A at once', async () => {
    proxy.cut();
    const during = traffic(PHASE_MS);
    // Writes while it lasts: never a 500, never a wait (a refused connection fails at once).
    const writes: Awaited<ReturnType<typeof timedWrite>>[] = [];
    for (let i = 0; i < 5; i++) {
      writes.push(await timedWrite(i));
      await new Promise((res) => setTimeout(res, 300));
    }
    const admin = await apiA.admin.get<{ errorCode?: string }>('/api/admin/apikeys');
    // Revoked on B (its Postgres answers); announced over Redis, applied on A without asking Postgres.
    const revoke = await apiB.admin.put(`/api/admin/apikeys/${revoked.keyId}/status`, { status: 'REVOKED' });
    expect(revoke.status, revoke.text).to.equal(200);
    const t0 = Date.now();
    await waitFor('the revoked key refused on A', async () => (await revokedOnA.post('/api/gateway/select-instance', { apiType: 'MODEL', apiIdentifier: 'pgout' })).status === 401, { timeoutMs: 2000, intervalMs: 20 });
    const revokedAfterMs = Date.now() - t0;
    const r = await during;
    console.log(`      refused: ${r.n} selects+reports, ${r.failures.length} failed; select median ${median(r.latencies).toFixed(1)} ms (before ${median(baseline).toFixed(1)} ms); writes ${writes.map((w) => `${w.status} in ${Math.round(w.ms)} ms`).join(', ')}; revocation applied on A after ${revokedAfterMs} ms`);
    expect(r.failures, 'failed selects/reports for known keys and instances').to.deep.equal([]);
    for (const w of writes) {
      expect(w).to.include({ status: 503, errorCode: 'DEPENDENCY_UNAVAILABLE' });
      expect(w.ms, 'a write refused by a dead Postgres answers at once').to.be.below(500);
    }
    expect(admin.status).to.equal(503);
    expect(admin.body.errorCode).to.equal('DEPENDENCY_UNAVAILABLE');
    const h = await health();
    expect(h.dependencies.postgres).to.deep.equal({ status: 'DOWN', circuit: 'OPEN' });
    expect(h.stalled).to.include('postgres');
    expect((await apiA.http.get('/readyz')).status, 'the replica still serves: it stays in the load balancer').to.equal(200);
    const m = await metricsOfA();
    expect(sumOf(m, 'apg_api_stale_serves_total'), 'stale serves counted').to.be.above(0);
    expect(sumOf(m, 'apg_api_postgres_circuit_open')).to.equal(1);
    // The ingestor holds (unready past its hold threshold) instead of dropping anything.
    expect((await fetch(`${ingestorOps}/readyz`)).status).to.equal(503);
  });

  it('Postgres hung (connections open, nothing answers): 0 failed selects, no added select latency, writes 503 within the statement timeout then at once', async () => {
    proxy.restore();
    await waitFor('Postgres UP again on A', async () => (await health()).dependencies.postgres.status === 'UP', { timeoutMs: 20_000, intervalMs: 200 });
    expect((await traffic(1500)).failures).to.deep.equal([]);
    proxy.stall();
    const during = traffic(PHASE_MS);
    const writes: Awaited<ReturnType<typeof timedWrite>>[] = [];
    for (let i = 0; i < 8; i++) {
      writes.push(await timedWrite(100 + i));
      await new Promise((res) => setTimeout(res, 200));
    }
    const r = await during;
    console.log(`      hung: ${r.n} selects+reports, ${r.failures.length} failed; select median ${median(r.latencies).toFixed(1)} ms, p99 ${p99(r.latencies).toFixed(1)} ms (before: median ${median(baseline).toFixed(1)}, p99 ${p99(baseline).toFixed(1)} ms); reports median ${median(r.reportLatencies).toFixed(1)} ms, max ${Math.max(...r.reportLatencies).toFixed(1)} ms (before ${median(reportBaseline).toFixed(1)} ms); writes ${writes.map((w) => `${w.status} in ${Math.round(w.ms)} ms`).join(', ')}`);
    expect(r.failures, 'failed selects/reports for known keys and instances').to.deep.equal([]);
    for (const w of writes) {
      expect(w).to.include({ status: 503, errorCode: 'DEPENDENCY_UNAVAILABLE' });
      // Bounded by the connect/statement timeout (1 s here) plus a loaded machine's slack.
      expect(w.ms, 'never a hang').to.be.below(QUERY_TIMEOUT_MS + 1500);
    }
    // Once the circuit is open the rest answer without waiting for Postgres.
    for (const w of writes.slice(-3)) expect(w.ms, 'circuit open: at once').to.be.below(300);
    // Selects never wait on Postgres: not slower than before the outage (a loaded machine's slack).
    expect(median(r.latencies)).to.be.below(Math.max(2 * median(baseline), median(baseline) + 10));
    // Reports neither: an instance past its TTL is answered from the cache and reloaded behind the report.
    expect(median(r.reportLatencies)).to.be.below(Math.max(2 * median(reportBaseline), median(reportBaseline) + 10));
    expect(Math.max(...r.reportLatencies), 'no report waits for a hung Postgres').to.be.below(QUERY_TIMEOUT_MS);
  });

  it('Postgres back: writes work again, and every report acknowledged is stored exactly once', async () => {
    proxy.resume();
    await waitFor('Postgres UP again on A', async () => (await health()).dependencies.postgres.status === 'UP', { timeoutMs: 30_000, intervalMs: 200 });
    const w = await timedWrite(999);
    expect(w.status).to.equal(200);
    const ids = instances.map((i) => i.id);
    const count = async () => (await probe.db.query<{ rows: number; distinct: number }>(
      'test.count', 'SELECT count(*)::int AS rows, count(DISTINCT event_id)::int AS distinct FROM call_results WHERE instance_id = ANY($1)', [ids],
    )).rows[0]!;
    await waitFor(`all ${reportsOk} reports stored`, async () => (await count()).rows >= reportsOk, { timeoutMs: 60_000, intervalMs: 250 });
    await new Promise((res) => setTimeout(res, 1000));
    expect(await count()).to.deep.equal({ rows: reportsOk, distinct: reportsOk });
    await waitFor('ingestor ready again', async () => (await fetch(`${ingestorOps}/readyz`)).status === 200, { timeoutMs: 30_000 });
  });
});
