import { expect } from 'chai';
import { freePort, serviceEnv, spawnApi, spawnService, type ChildService } from '../child-service';
import { HttpClient } from '../http-client';
import { parseExposition, sumOf } from '../infra/exposition';
import { startTcpProxy, type TcpProxy } from '../ingest/tcp-proxy';
import { register, type Registered } from '../routing/routing-fixture';
import { openProbe, stackNames, type Probe, type StackNames } from '../stack';
import { createTenant, type TestTenant } from '../tenant';
import { testEnv } from '../test-env';
import { waitFor } from '../wait-for';

interface Health {
  status: 'UP' | 'DEGRADED';
  stalled: string[];
  dependencies: Record<'ingestor' | 'aggregator', { status: string; lagMessages: number | null; oldestUnappliedEventAgeMs: number | null }>;
}

const STALL_MS = 3000;

/**
 * A stalled stage shows (issue 9 §2), on the real binaries: the ingestor's Postgres, then the aggregator's
 * Redis, hang behind a TCP proxy (bytes held, connections open: no error, nothing retried, the case that
 * used to look healthy). While held, the stage's lag per partition (committed offset vs high watermark) and
 * its oldest-unapplied age rise, its `/readyz` answers 503 with `events` false, and the api's `/api/health`
 * says DEGRADED naming that stage (and not the other); once released everything returns to 0 / 200 / UP,
 * and every report is stored and counted.
 */
describe('pipeline stalls show: lag, oldest-event age, /readyz and /api/health (real processes)', function () {
  this.timeout(180_000);
  let names: StackNames;
  let probe: Probe;
  let pgProxy: TcpProxy;
  let redisProxy: TcpProxy;
  let api: Awaited<ReturnType<typeof spawnApi>>;
  const children: ChildService[] = [];
  const ops = {} as Record<'ingestor' | 'aggregator', HttpClient>;
  let tenant: TestTenant;
  let inst: Registered;
  let reported = 0;

  before(async function () {
    names = stackNames();
    probe = await openProbe(names);
    const env = testEnv();
    const pg = new URL(env.databaseUrl);
    const redis = new URL(env.redisUrl);
    pgProxy = await startTcpProxy({ host: pg.hostname, port: Number(pg.port || 5432) });
    redisProxy = await startTcpProxy({ host: redis.hostname, port: Number(redis.port || 6379) });
    api = await spawnApi(names, {
      PIPELINE_STALL_MS: String(STALL_MS),
      PIPELINE_LAG_POLL_MS: '250',
      // /api/health is polled here faster than an anonymous client may.
      ANON_RATE_PER_SECOND: '1000',
      ANON_BURST: '1000',
    });
    children.push(api);
    const ingestorPort = await freePort();
    children.push(spawnService('ingestor', serviceEnv(names, {
      INGESTOR_PORT: String(ingestorPort),
      DATABASE_URL: pgProxy.rewrite(env.databaseUrl),
      INGEST_MAX_EVENT_AGE_MS: String(STALL_MS),
      INGEST_LAG_POLL_MS: '250',
      // Held batches alone would not turn /readyz for 10 minutes: what turns it here is the events' age.
      INGEST_MAX_BATCH_HOLD_MS: '600000',
    })));
    ops.ingestor = new HttpClient(`http://127.0.0.1:${ingestorPort}`);
    const aggregatorPort = await freePort();
    children.push(spawnService('aggregator', serviceEnv(names, {
      AGGREGATOR_PORT: String(aggregatorPort),
      REDIS_URL: redisProxy.rewrite(env.redisUrl),
      AGGREGATOR_MAX_EVENT_AGE_MS: String(STALL_MS),
      AGGREGATOR_LAG_POLL_MS: '250',
      AGGREGATOR_MAX_HELD_MS: '600000',
      // Longer than the stall, so the member is not evicted meanwhile (eviction is redis-stall's story).
      AGGREGATOR_SESSION_TIMEOUT_MS: '30000',
    })));
    ops.aggregator = new HttpClient(`http://127.0.0.1:${aggregatorPort}`);
    for (const stage of ['ingestor', 'aggregator'] as const) {
      await waitFor(`${stage} ready`, async () => (await ops[stage].get('/readyz').catch(() => ({ status: 0 }))).status === 200, { timeoutMs: 60_000 });
    }
    tenant = await createTenant(api);
    [inst] = (await register(tenant, [{ businessId: 'stall-1' }])) as [Registered];
  });

  after(async function () {
    pgProxy?.resume();
    redisProxy?.resume();
    for (const c of children.reverse()) await c.kill('SIGTERM');
    await pgProxy?.close();
    await redisProxy?.close();
    await probe?.close();
  });

  const report = async (n: number) => {
    for (let k = 0; k < n; k++) {
      const res = await tenant.http.post('/api/gateway/report-result', { instanceId: inst.id, businessId: inst.businessId, success: true, latencyMs: 20 + k });
      expect(res.status, res.text).to.equal(200);
      reported++;
    }
  };
  const scrape = async (stage: 'ingestor' | 'aggregator') => parseExposition((await ops[stage].get('/metrics')).text);
  const lagOf = async (stage: 'ingestor' | 'aggregator') => {
    const name = stage === 'ingestor' ? 'apg_ingestor_consumer_lag_messages' : 'apg_aggregator_consumer_lag';
    const samples = (await scrape(stage)).filter((s) => s.name === name);
    return { total: samples.reduce((a, s) => a + s.value, 0), partitions: samples.map((s) => s.labels['partition']) };
  };
  const ageOf = async (stage: 'ingestor' | 'aggregator') => sumOf(await scrape(stage), `apg_${stage}_oldest_unapplied_event_age_seconds`);
  const health = async () => (await api.http.get<{ data: Health }>('/api/health')).body.data;
  const readyz = async (stage: 'ingestor' | 'aggregator') => {
    const r = await ops[stage].get<{ dependencies: Record<string, boolean> }>('/readyz');
    return { status: r.status, deps: r.body.dependencies };
  };
  const storedRows = async () =>
    (await probe.db.query<{ n: number }>('test.count', 'SELECT count(*)::int AS n FROM call_results WHERE instance_id = $1', [inst.id])).rows[0]?.n ?? 0;

  async function expectAllClear(): Promise<void> {
    for (const stage of ['ingestor', 'aggregator'] as const) {
      await waitFor(`${stage} ready again`, async () => (await readyz(stage)).status === 200, { timeoutMs: 30_000, intervalMs: 200 });
      await waitFor(`${stage} lag back to 0`, async () => (await lagOf(stage)).total === 0, { timeoutMs: 30_000, intervalMs: 200 });
      expect(await ageOf(stage), `${stage} oldest-unapplied age`).to.equal(0);
    }
    const h = await waitFor('/api/health UP', async () => {
      const x = await health();
      return x.status === 'UP' ? x : null;
    }, { timeoutMs: 30_000, intervalMs: 250 });
    expect(h.stalled).to.deep.equal([]);
    expect(h.dependencies.ingestor).to.deep.include({ status: 'UP', lagMessages: 0, oldestUnappliedEventAgeMs: 0 });
  }

  it('starts clear: reports flow through both stages', async () => {
    await report(3);
    await waitFor('3 rows stored', async () => (await storedRows()) === 3, { timeoutMs: 30_000 });
    await expectAllClear();
    // Lag is exported per partition of the topic (3 here), polled from the broker.
    expect((await lagOf('ingestor')).partitions).to.have.members(['0', '1', '2']);
    expect((await lagOf('aggregator')).partitions).to.have.members(['0', '1', '2']);
  });

  it('the ingestor held on a hung Postgres: lag and age rise, /readyz 503, /api/health names the ingestor; then recovery', async () => {
    pgProxy.stall();
    await report(5);
    await waitFor('ingestor lag > 0', async () => (await lagOf('ingestor')).total >= 5, { timeoutMs: 20_000, intervalMs: 200 });
    await waitFor('ingestor oldest-unapplied age past the threshold', async () => (await ageOf('ingestor')) > STALL_MS / 1000, { timeoutMs: 20_000, intervalMs: 200 });
    const r = await waitFor('ingestor /readyz 503 on events', async () => {
      const x = await readyz('ingestor');
      return x.status === 503 && x.deps['events'] === false ? x : null;
    }, { timeoutMs: 20_000, intervalMs: 200 });
    expect(r.deps['kafka'], 'the consumer itself still runs').to.equal(true);
    const h = await waitFor('/api/health DEGRADED naming the ingestor', async () => {
      const x = await health();
      return x.status === 'DEGRADED' && x.stalled.includes('ingestor') ? x : null;
    }, { timeoutMs: 20_000, intervalMs: 250 });
    expect(h.dependencies.ingestor.status).to.equal('STALLED');
    expect(h.dependencies.ingestor.lagMessages).to.be.at.least(5);
    expect(h.dependencies.ingestor.oldestUnappliedEventAgeMs).to.be.above(STALL_MS);
    // The other stage kept up: it is not blamed.
    expect(h.stalled).to.not.include('aggregator');
    expect((await readyz('aggregator')).status).to.equal(200);
    expect((await lagOf('aggregator')).total).to.equal(0);

    pgProxy.resume();
    await waitFor('every report stored', async () => (await storedRows()) === reported, { timeoutMs: 30_000 });
    await expectAllClear();
  });

  it('the aggregator held on a hung Redis: lag and age rise, /readyz 503, /api/health names the aggregator; then recovery', async () => {
    redisProxy.stall();
    await report(5);
    await waitFor('aggregator lag > 0', async () => (await lagOf('aggregator')).total >= 5, { timeoutMs: 20_000, intervalMs: 200 });
    await waitFor('aggregator oldest-unapplied age past the threshold', async () => (await ageOf('aggregator')) > STALL_MS / 1000, { timeoutMs: 20_000, intervalMs: 200 });
    await waitFor('aggregator /readyz 503 on events', async () => {
      const x = await readyz('aggregator');
      return x.status === 503 && x.deps['events'] === false;
    }, { timeoutMs: 20_000, intervalMs: 200 });
    const h = await waitFor('/api/health DEGRADED naming the aggregator', async () => {
      const x = await health();
      return x.status === 'DEGRADED' && x.dependencies.aggregator.status === 'STALLED' ? x : null;
    }, { timeoutMs: 20_000, intervalMs: 250 });
    expect(h.stalled).to.include('aggregator');
    expect(h.dependencies.aggregator.lagMessages).to.be.at.least(5);
    expect(h.stalled).to.not.include('ingestor');
    expect(h.dependencies.ingestor.status).to.equal('UP');

    redisProxy.resume();
    await expectAllClear();
    await waitFor('every report stored', async () => (await storedRows()) === reported, { timeoutMs: 30_000 });
  });
});
