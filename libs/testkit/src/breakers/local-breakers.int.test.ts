import { expect } from 'chai';
import { spawnApi, spawnService, serviceEnv, type ChildService } from '../child-service';
import type { HttpClient } from '../http-client';
import { register, type Registered } from '../routing/routing-fixture';
import { openProbe, stackNames, type Probe, type StackNames } from '../stack';
import { createTenant, type TestTenant } from '../tenant';
import { waitFor } from '../wait-for';
import { CallingClient } from './calling-client';

interface HealthData {
  status: string;
  stalled: string[];
  dependencies: { aggregator: { status: string; heartbeatAgeMs: number | null } };
}

const THRESHOLD = 5; // BREAKER_CONSECUTIVE_FAILURES default
// Longer than any test here: every failed call counted below is one the breaker should have prevented,
// never a legitimate probe.
// The probe test selects in bursts faster than the default per-project select quota (1,000/s on an idle
// machine); the quota is not what these tests are about, so it is off here (0 = unlimited).
const BREAKER_ENV = { BREAKER_OPEN_MS: '120000', BREAKER_MAX_OPEN_MS: '300000', QUOTA_SELECTS_PER_SECOND: '0' };

/**
 * Issue 8, "breakers react from the first second", on the real binaries: a client that keeps selecting
 * and reporting failures on dead instances among healthy ones gets at most the consecutive-failure
 * threshold of failed calls per dead instance, whether the aggregator is up, killed with -9 and restarted
 * at once, or not running at all; HALF_OPEN admits at most halfOpenProbes probes; and a stale aggregator
 * heartbeat turns /api/health DEGRADED, naming the aggregator, and back.
 */
describe('local breakers on the real stack (api and aggregator binaries)', function () {
  this.timeout(120_000);
  const children: ChildService[] = [];
  const probes: Probe[] = [];

  async function stack(): Promise<{ names: StackNames; probe: Probe; api: Awaited<ReturnType<typeof spawnApi>>; tenant: TestTenant }> {
    const names = stackNames();
    const probe = await openProbe(names);
    probes.push(probe);
    const api = await spawnApi(names, BREAKER_ENV);
    children.push(api);
    const tenant = await createTenant(api);
    return { names, probe, api, tenant };
  }

  function spawnAggregator(names: StackNames): ChildService {
    const c = spawnService('aggregator', serviceEnv(names, { AGGREGATOR_PORT: '0', ...BREAKER_ENV }));
    children.push(c);
    return c;
  }

  const health = async (http: HttpClient): Promise<HealthData> => (await http.get<{ data: HealthData }>('/api/health')).body.data;
  const aggregatorUp = async (http: HttpClient) => (await health(http)).dependencies.aggregator.status === 'UP';

  async function storedState(probe: Probe, names: StackNames, id: string): Promise<string | null> {
    const json = await probe.redis.hget(`${names.redisPrefix}breaker-states`, id);
    return json ? (JSON.parse(json) as { state: string }).state : null;
  }

  async function pool(tenant: TestTenant, identifier: string, dead: number, healthy: number): Promise<{ doomed: Registered[]; alive: Registered[] }> {
    const all = await register(tenant, Array.from({ length: dead + healthy }, (_, i) => ({ businessId: `${identifier}-${i}`, apiIdentifier: identifier })));
    return { doomed: all.slice(0, dead), alive: all.slice(dead) };
  }

  after(async () => {
    await Promise.all(children.map((c) => c.kill('SIGKILL')));
    await Promise.all(probes.map((p) => p.close()));
  });

  it('kill -9 of the aggregator and an immediate restart: each dead instance takes at most its threshold of failed calls', async () => {
    const { names, probe, api, tenant } = await stack();
    const { doomed, alive } = await pool(tenant, 'crash', 6, 4);
    const before = doomed.slice(0, 3);
    const during = doomed.slice(3);
    const first = spawnAggregator(names);
    await waitFor('the aggregator\'s heartbeat', () => aggregatorUp(api.http), { timeoutMs: 30_000 });

    const client = new CallingClient(tenant.http, 'crash');
    for (const d of before) client.dead.add(d.id);
    client.start();
    try {
      // Three instances die while the aggregator runs: both the local and the aggregator's breaker open them.
      for (const d of before) await waitFor(`${d.businessId} OPEN in the aggregator's record`, async () => (await storedState(probe, names, d.id)) === 'OPEN', { timeoutMs: 30_000 });

      expect(await first.kill('SIGKILL')).to.equal(null);
      const restartedAt = Date.now();
      spawnAggregator(names);
      // Three more die while the aggregator is dead and rejoining its group.
      for (const d of during) client.dead.add(d.id);
      await waitFor('the heartbeat to go stale after the kill, or the restarted aggregator to beat', async () => Date.now() - restartedAt > 3000 || (await aggregatorUp(api.http)));
      await waitFor('10 s of calls through the restart, and the restarted aggregator beating', async () => Date.now() - restartedAt >= 10_000 && (await aggregatorUp(api.http)), { timeoutMs: 60_000 });
      for (const d of during) await waitFor(`${d.businessId} OPEN in the restarted aggregator's record`, async () => (await storedState(probe, names, d.id)) === 'OPEN', { timeoutMs: 30_000 });
      // A little more traffic once the new aggregator decides again.
      const selectsThen = client.selects;
      await waitFor('200 more selects', () => client.selects >= selectsThen + 200, { timeoutMs: 30_000 });
    } finally {
      await client.stop();
    }

    const figures = doomed.map((d) => `${d.businessId}=${client.failedCalls(d.id)}`).join(' ');
    console.log(`      kill -9 + restart: ${client.selects} selects, failed calls per dead instance: ${figures}`);
    for (const d of doomed) {
      expect(client.failedCalls(d.id), `${d.businessId}: failed calls`).to.be.at.most(THRESHOLD);
      expect(client.failedCalls(d.id), `${d.businessId}: reached before it died`).to.equal(THRESHOLD);
    }
    for (const a of alive) expect(client.picks.get(a.id) ?? 0, `${a.businessId} kept serving`).to.be.greaterThan(50);
  });

  it('with no aggregator running at all: each dead instance takes at most its threshold of failed calls', async () => {
    const { api, tenant } = await stack();
    expect(await aggregatorUp(api.http)).to.equal(false);
    const { doomed, alive } = await pool(tenant, 'alone', 6, 4);
    const client = new CallingClient(tenant.http, 'alone');
    for (const d of doomed) client.dead.add(d.id);
    client.start();
    try {
      // Every dead instance reached, then 300 more selects in which none may be picked again.
      await waitFor('every dead instance failing', () => doomed.every((d) => client.failedCalls(d.id) >= THRESHOLD), { timeoutMs: 90_000 });
      const then = client.selects;
      await waitFor('300 more selects', () => client.selects >= then + 300, { timeoutMs: 90_000 });
    } finally {
      await client.stop();
    }
    const figures = doomed.map((d) => `${d.businessId}=${client.failedCalls(d.id)}`).join(' ');
    console.log(`      no aggregator: ${client.selects} selects, failed calls per dead instance: ${figures}`);
    for (const d of doomed) expect(client.failedCalls(d.id), `${d.businessId}: failed calls`).to.equal(THRESHOLD);
    for (const a of alive) expect(client.picks.get(a.id) ?? 0).to.be.greaterThan(50);
  });

  it('HALF_OPEN admits at most halfOpenProbes probes, also when the aggregator starts late and opens its own episode', async () => {
    const { names, api, tenant } = await stack();
    const [flaky, spare] = await register(tenant, [
      { businessId: 'probe-flaky', apiIdentifier: 'probed', routingParams: { priority: 10, breaker: { openDurationMs: 2000, halfOpenProbes: 2 } } },
      { businessId: 'probe-spare', apiIdentifier: 'probed', routingParams: { priority: 1 } },
    ]);
    const select = () => tenant.http.post<{ data: { id: string; selectionId: string } }>('/api/gateway/select-instance', { apiType: 'MODEL', apiIdentifier: 'probed', strategy: 'PRIORITY' });
    const report = (id: string, selectionId: string, success: boolean) => tenant.http.post('/api/gateway/report-result', {
      instanceId: id, businessId: id === flaky!.id ? 'probe-flaky' : 'probe-spare', selectionId, success, latencyMs: 5, ...(success ? {} : { statusCode: 503 }),
    });
    for (let i = 0; i < THRESHOLD; i++) {
      const s = await select();
      expect(s.body.data.id).to.equal(flaky!.id);
      expect((await report(flaky!.id, s.body.data.selectionId, false)).status).to.equal(200);
    }
    expect((await select()).body.data.id, 'skipped once open').to.equal(spare!.id);

    const burst = async (n: number) => {
      const answers = await Promise.all(Array.from({ length: n }, () => select()));
      for (const a of answers) expect(a.status, `a select in a burst: ${a.text}`).to.equal(200);
      return answers.map((r) => r.body.data).filter((d) => d.id === flaky!.id);
    };
    // Once its open duration is over, a burst of concurrent selects gets exactly the 2 permitted probes.
    const probes = await waitFor('the open duration to pass (a probe admitted)', async () => {
      const got = await burst(20);
      return got.length > 0 ? got : null;
    }, { timeoutMs: 10_000, intervalMs: 200 });
    expect(probes.length, 'probes in the first burst').to.equal(2);
    for (const p of probes) expect(p.selectionId).to.match(/\.probe$/);

    // The aggregator starts late and replays the failures: its OPEN is a newer episode, with its own
    // permits in Redis. The two unreported probes still bound what this replica hands out.
    spawnAggregator(names);
    await waitFor('the late aggregator\'s heartbeat', () => aggregatorUp(api.http), { timeoutMs: 30_000 });
    let more = 0;
    const until = Date.now() + 5000;
    while (Date.now() < until) more += (await burst(10)).length;
    expect(more, 'probes while two are out, across the aggregator\'s own episode').to.equal(0);

    // Both probes succeed: the breaker closes and the instance serves again.
    for (const p of probes) expect((await report(flaky!.id, p.selectionId, true)).status).to.equal(200);
    await waitFor('the recovered instance served again', async () => (await select()).body.data.id === flaky!.id, { timeoutMs: 15_000 });
  });

  it('a stale aggregator heartbeat turns /api/health DEGRADED naming the aggregator, readiness unaffected, and back', async () => {
    const { names, api } = await stack();
    const agg = spawnAggregator(names);
    await waitFor('health UP with a beating aggregator', async () => {
      const h = await health(api.http);
      return h.dependencies.aggregator.status === 'UP' && !h.stalled.includes('aggregator');
    }, { timeoutMs: 30_000 });
    expect(await agg.kill('SIGKILL')).to.equal(null);
    const killedAt = Date.now();
    const degraded = await waitFor('health DEGRADED naming the aggregator', async () => {
      const h = await health(api.http);
      return h.status === 'DEGRADED' && h.stalled.includes('aggregator') ? h : null;
    }, { timeoutMs: 15_000 });
    console.log(`      heartbeat stale → DEGRADED ${Date.now() - killedAt} ms after kill -9`);
    expect(degraded.dependencies.aggregator.status).to.equal('DOWN');
    expect(degraded.dependencies.aggregator.heartbeatAgeMs ?? Infinity).to.be.greaterThan(3000);
    expect((await api.http.get('/readyz')).status, 'the api still serves').to.equal(200);

    spawnAggregator(names);
    await waitFor('health back without the aggregator stalled', async () => {
      const h = await health(api.http);
      return h.dependencies.aggregator.status === 'UP' && !h.stalled.includes('aggregator');
    }, { timeoutMs: 30_000 });
  });
});
