import { expect } from 'chai';
import type { HttpClient } from '../http-client';
import { spawnApi } from '../child-service';
import { openProbe, startApi, startIngestor, stackNames, type Probe, type StackNames } from '../stack';
import { createTenant, type TestTenant } from '../tenant';
import { waitFor } from '../wait-for';
import { register, setHealth, type Registered } from './routing-fixture';

interface Selected {
  id: string;
  businessId: string;
  selectionId: string;
  breakerState: string;
  fallbackUsed: boolean;
  servedApiIdentifier: string;
  explain?: { strategy: string; via: string; groups: { apiIdentifier: string; candidates: { id: string; eligible: boolean; skipReason?: string }[] }[] };
}
type Body = { code: number; data: Selected; errorCode?: string };

/** The routing engine through the HTTP API, with health states played into Redis as the aggregator would. */
describe('routing engine over HTTP (real Redis, Postgres, Kafka)', function () {
  this.timeout(90_000);
  let names: StackNames;
  let probe: Probe;
  let api: Awaited<ReturnType<typeof startApi>>;
  let tenant: TestTenant;

  const select = (client: HttpClient, body: Record<string, unknown>) =>
    client.post<Body>('/api/gateway/select-instance', { apiType: 'MODEL', apiIdentifier: 'gpt4o', ...body });

  before(async () => {
    names = stackNames();
    probe = await openProbe(names);
    api = await startApi(names);
    tenant = await createTenant(api);
  });

  after(async () => {
    await api?.close();
    await probe?.close();
  });

  describe('strategies and explain', () => {
    let tiers: Registered[];
    before(async () => {
      tiers = await register(tenant, [
        { businessId: 'p-top', apiIdentifier: 'tiered', routingParams: { priority: 10, costPerUnit: 5 } },
        { businessId: 'p-mid', apiIdentifier: 'tiered', routingParams: { priority: 5, costPerUnit: 1 } },
        { businessId: 'p-low', apiIdentifier: 'tiered', routingParams: { priority: 1, costPerUnit: 3 } },
      ]);
    });

    it('PRIORITY serves the top tier and fails over tier by tier', async () => {
      for (let i = 0; i < 5; i++) expect((await select(tenant.http, { apiIdentifier: 'tiered', strategy: 'PRIORITY' })).body.data.businessId).to.equal('p-top');
      await setHealth(probe.redis, names, tiers[0]!.id, { state: 'FORCED_OPEN' });
      await waitFor('failover to the middle tier', async () => (await select(tenant.http, { apiIdentifier: 'tiered', strategy: 'PRIORITY' })).body.data.businessId === 'p-mid');
      await setHealth(probe.redis, names, tiers[1]!.id, { state: 'OPEN', openUntil: Date.now() + 60_000 });
      await waitFor('failover to the low tier', async () => (await select(tenant.http, { apiIdentifier: 'tiered', strategy: 'PRIORITY' })).body.data.businessId === 'p-low');
    });

    it('LEAST_COST picks the cheapest eligible instance', async () => {
      const res = await select(tenant.http, { apiIdentifier: 'tiered', strategy: 'least_cost' });
      expect(res.status).to.equal(200);
      expect(res.body.data.businessId).to.equal('p-low');
    });

    it('explain lists every candidate with its state and why it was skipped', async () => {
      const res = await select(tenant.http, { apiIdentifier: 'tiered', strategy: 'PRIORITY', explain: true });
      expect(res.status).to.equal(200);
      const group = res.body.data.explain!.groups[0]!;
      expect(res.body.data.explain!.strategy).to.equal('PRIORITY');
      expect(group.candidates).to.have.length(3);
      const byId = new Map(group.candidates.map((c) => [c.id, c]));
      expect(byId.get(tiers[0]!.id)).to.include({ eligible: false, skipReason: 'breaker_open' });
      expect(byId.get(tiers[2]!.id)).to.include({ eligible: true });
    });

    it('answers an unknown strategy with 400 naming the field', async () => {
      const res = await select(tenant.http, { apiIdentifier: 'tiered', strategy: 'FASTEST' });
      expect(res.status).to.equal(400);
      expect(res.body.errorCode).to.equal('VALIDATION_FAILED');
    });
  });

  describe('fallback and exclusion', () => {
    let primary: Registered[];
    let backup: Registered[];
    before(async () => {
      primary = await register(tenant, [{ businessId: 'fb-primary', apiIdentifier: 'fb-main' }]);
      backup = await register(tenant, [{ businessId: 'fb-backup-model-id', apiIdentifier: 'fb-other' }]);
    });

    it('serves the primary without fallback, then the chain entry matched by businessId', async () => {
      const ok = await select(tenant.http, { apiIdentifier: 'fb-main', fallbackChain: ['fb-backup-model-id'] });
      expect(ok.body.data).to.include({ id: primary[0]!.id, fallbackUsed: false, servedApiIdentifier: 'fb-main' });
      await setHealth(probe.redis, names, primary[0]!.id, { state: 'FORCED_OPEN' });
      await waitFor('the fallback', async () => (await select(tenant.http, { apiIdentifier: 'fb-main', fallbackChain: ['fb-backup-model-id'] })).body.data?.fallbackUsed === true);
      const fb = await select(tenant.http, { apiIdentifier: 'fb-main', fallbackChain: ['fb-backup-model-id'] });
      expect(fb.body.data).to.include({ id: backup[0]!.id, businessId: 'fb-backup-model-id', fallbackUsed: true, servedApiIdentifier: 'fb-backup-model-id' });
    });

    it('answers FALLBACK_EXHAUSTED when the chain is used up, and excludeInstanceIds removes candidates', async () => {
      const res = await select(tenant.http, { apiIdentifier: 'fb-main', fallbackChain: ['fb-backup-model-id'], excludeInstanceIds: [backup[0]!.id] });
      expect(res.status).to.equal(503);
      expect(res.body.errorCode).to.equal('FALLBACK_EXHAUSTED');
      const none = await select(tenant.http, { apiIdentifier: 'fb-main' });
      expect(none.status).to.equal(503);
      expect(none.body.errorCode).to.equal('NO_HEALTHY_INSTANCE');
      const unknown = await select(tenant.http, { apiIdentifier: 'nothing-registered' });
      expect(unknown.status).to.equal(404);
      expect(unknown.body.errorCode).to.equal('NO_AVAILABLE_INSTANCE');
    });
  });

  describe('rate limits and cool-down', () => {
    let pair: Registered[];
    before(async () => {
      pair = await register(tenant, [
        { businessId: 'rl-limited', apiIdentifier: 'rl', routingParams: { rpm: 2, priority: 10 } },
        { businessId: 'rl-spare', apiIdentifier: 'rl', routingParams: { priority: 1 } },
      ]);
    });

    it('skips an instance over its rpm for the rest of the minute', async () => {
      const picks: string[] = [];
      for (let i = 0; i < 5; i++) picks.push((await select(tenant.http, { apiIdentifier: 'rl', strategy: 'PRIORITY' })).body.data.businessId);
      // A minute boundary in the middle would give the limited one two more; both cases stay within rpm per minute.
      expect(picks.filter((p) => p === 'rl-limited').length).to.be.within(2, 4);
      expect(picks.slice(0, 2)).to.deep.equal(['rl-limited', 'rl-limited']);
      expect(picks[2]).to.equal('rl-spare');
    });

    it('skips an instance cooling down after a 429, without opening its breaker', async () => {
      await setHealth(probe.redis, names, pair[1]!.id, { cooldownUntil: Date.now() + 60_000 });
      await waitFor('both unavailable', async () => (await select(tenant.http, { apiIdentifier: 'rl', strategy: 'PRIORITY' })).status === 503);
    });
  });

  describe('breaker reaction on the replica that takes the reports', () => {
    it('skips an instance right after its threshold of consecutive failure reports, before the aggregator answers', async () => {
      const [failing, spare] = await register(tenant, [
        { businessId: 'react-failing', apiIdentifier: 'react', routingParams: { priority: 10 } },
        { businessId: 'react-spare', apiIdentifier: 'react', routingParams: { priority: 1 } },
      ]);
      // No aggregator runs in this suite: only the api's own hold can make the skip.
      for (let i = 0; i < 5; i++) {
        const sel = await select(tenant.http, { apiIdentifier: 'react', strategy: 'PRIORITY' });
        expect(sel.body.data.id, `call ${i + 1}`).to.equal(failing!.id);
        const rep = await tenant.http.post('/api/gateway/report-result', {
          instanceId: failing!.id, businessId: 'react-failing', success: false, latencyMs: 5, statusCode: 503, selectionId: sel.body.data.selectionId,
        });
        expect(rep.status).to.equal(200);
      }
      const next = await select(tenant.http, { apiIdentifier: 'react', strategy: 'PRIORITY' });
      expect(next.body.data.id).to.equal(spare!.id);
    });
  });

  describe('decision leases', () => {
    it('a report carrying the selectionId settles the lease and frees its in-flight slot', async () => {
      const [inst] = await register(tenant, [{ businessId: 'lease-1', apiIdentifier: 'lease' }]);
      const sel = await select(tenant.http, { apiIdentifier: 'lease' });
      const inflightKey = `${names.redisPrefix}inflight:${inst!.id}`;
      // The decision is recorded in the background of the select; wait for it rather than race it.
      await waitFor('the lease recorded', async () => (await probe.redis.get(inflightKey)) === '1');
      const rep = await tenant.http.post('/api/gateway/report-result', {
        instanceId: inst!.id, businessId: 'lease-1', success: true, latencyMs: 10, selectionId: sel.body.data.selectionId,
      });
      expect(rep.status, rep.text).to.equal(200);
      // Settled in the background once Kafka has the event.
      await waitFor('the lease settled', async () => (await probe.redis.get(inflightKey)) === '0');
      expect(await probe.redis.zscore(`${names.redisPrefix}lease-expiries`, sel.body.data.selectionId)).to.equal(null);
    });

    it('an unreported lease expires and is stored as a TIMEOUT outcome', async () => {
      const short = await startApi(names, { leaseTtlMs: 300, leaseSweepMs: 50 });
      const ingestor = await startIngestor(names);
      try {
        const [inst] = await register(tenant, [{ businessId: 'lease-2', apiIdentifier: 'lease-expiry' }]);
        const sel = await select(short.http.with({ 'api-key': tenant.apiKey }), { apiIdentifier: 'lease-expiry' });
        expect(sel.status).to.equal(200);
        const row = await waitFor('the timeout row', async () => {
          const { rows } = await probe.db.query<{ error_type: string; success: boolean }>('test.timeout', 'SELECT error_type, success FROM call_results WHERE selection_id = $1', [sel.body.data.selectionId]);
          return rows[0];
        }, { timeoutMs: 20_000 });
        expect(row).to.deep.equal({ error_type: 'TIMEOUT', success: false });
        expect(await probe.redis.get(`${names.redisPrefix}inflight:${inst!.id}`)).to.equal('0');
      } finally {
        await ingestor.close();
        await short.close();
      }
    });
  });

  describe('leases of clients that report without selectionId (AgentX)', () => {
    it('an expired lease of an instance reported on since is not a timeout; only its in-flight slot is freed', async () => {
      const short = await startApi(names, { leaseTtlMs: 400, leaseSweepMs: 50 });
      const ingestor = await startIngestor(names);
      try {
        const [inst] = await register(tenant, [{ businessId: 'agentx-lease', apiIdentifier: 'agentx-lease' }]);
        const client = short.http.with({ 'api-key': tenant.apiKey });
        const sel = await select(client, { apiIdentifier: 'agentx-lease' });
        const rep = await client.post('/api/gateway/report-result', { instanceId: inst!.id, businessId: 'agentx-lease', success: true, latencyMs: 20, callTimestamp: Date.now() });
        expect(rep.status, rep.text).to.equal(200);
        await waitFor('the lease swept', async () => (await probe.redis.hexists(`${names.redisPrefix}leases`, sel.body.data.selectionId)) === 0, { timeoutMs: 10_000 });
        expect(await probe.redis.get(`${names.redisPrefix}inflight:${inst!.id}`)).to.equal('0');
        await waitFor('the success row', async () => {
          const { rows } = await probe.db.query<{ n: number }>('test.rows', 'SELECT count(*)::int AS n FROM call_results WHERE instance_id = $1', [inst!.id]);
          return rows[0]!.n === 1;
        });
        await new Promise((r) => setTimeout(r, 500));
        const { rows } = await probe.db.query<{ n: number }>('test.timeouts', `SELECT count(*)::int AS n FROM call_results WHERE instance_id = $1 AND error_type = 'TIMEOUT'`, [inst!.id]);
        expect(rows[0]!.n).to.equal(0);
      } finally {
        await ingestor.close();
        await short.close();
      }
    });
  });

  describe('batch registration', () => {
    it('a re-registration without routingParams keeps those of the same businessId under another apiType untouched', async () => {
      const first = await tenant.http.post<{ data: { id: string; apiType: string; routingParams: Record<string, unknown> }[] }>('/api/instances/batch', {
        instances: [{ apiType: 'MODEL', apiIdentifier: 'shared-b', businessId: 'shared-b', routingParams: { weight: 5 } }],
      });
      expect(first.status).to.equal(200);
      const res = await tenant.http.post('/api/instances/batch', {
        instances: [
          { apiType: 'MODEL', apiIdentifier: 'shared-b', businessId: 'shared-b' },
          { apiType: 'OTHER', apiIdentifier: 'shared-b', businessId: 'shared-b', routingParams: { weight: 1 } },
        ],
      });
      expect(res.status, res.text).to.equal(200);
      const model = await api.admin.get<{ data: { routingParams: Record<string, unknown> }[] }>(`/api/admin/instances/business/shared-b?projectId=${tenant.projectId}&apiType=MODEL`);
      expect(JSON.stringify(model.body.data)).to.contain('"weight":5');
    });
  });

  describe('across two api processes', () => {
    let other: Awaited<ReturnType<typeof spawnApi>>;
    let otherTenant: HttpClient;
    before(async () => {
      other = await spawnApi(names);
      otherTenant = other.http.with({ 'api-key': tenant.apiKey });
    });
    after(async () => {
      await other?.kill();
    });

    it('admits exactly halfOpenProbes selections of a HALF_OPEN instance in total', async () => {
      const [inst] = await register(tenant, [{ businessId: 'probe-1', apiIdentifier: 'probe' }]);
      await setHealth(probe.redis, names, inst!.id, { state: 'HALF_OPEN', openedAt: Date.now() - 30_000, since: Date.now() });
      await waitFor('both replicas see HALF_OPEN', async () => {
        const [a, b] = await Promise.all([api.admin.get<{ data: { record: { state: string } } }>(`/api/admin/instances/${inst!.id}/state`), Promise.resolve(null)]);
        return a.body.data?.record.state === 'HALF_OPEN' && b === null;
      });
      await new Promise((r) => setTimeout(r, 200));
      const results = await Promise.all(
        Array.from({ length: 24 }, (_, i) => select(i % 2 ? otherTenant : tenant.http, { apiIdentifier: 'probe' })),
      );
      const admitted = results.filter((r) => r.status === 200);
      expect(admitted).to.have.length(3);
      expect(results.filter((r) => r.status !== 200).every((r) => r.status === 503)).to.equal(true);
    });

    it('shares affinity bindings, rebinds PREFERRED when the instance goes away and refuses STRICT', async () => {
      const insts = await register(tenant, [
        { businessId: 'aff-1', apiIdentifier: 'aff' },
        { businessId: 'aff-2', apiIdentifier: 'aff' },
        { businessId: 'aff-3', apiIdentifier: 'aff' },
      ]);
      const key = { apiIdentifier: 'aff', affinityKey: 'session-42', affinityType: 'SESSION' };
      const first = (await select(tenant.http, key)).body.data.id;
      for (let i = 0; i < 6; i++) {
        expect((await select(i % 2 ? otherTenant : tenant.http, key)).body.data.id).to.equal(first);
      }
      // The same session key for another API is its own binding (AgentX reuses it for title generation).
      const title = await register(tenant, [{ businessId: 'aff-title', apiIdentifier: 'aff-title-model' }]);
      expect((await select(tenant.http, { ...key, apiIdentifier: 'aff-title-model' })).body.data.id).to.equal(title[0]!.id);
      expect((await select(otherTenant, key)).body.data.id).to.equal(first);

      await setHealth(probe.redis, names, first, { state: 'FORCED_OPEN' });
      await new Promise((r) => setTimeout(r, 200));
      const strict = await select(otherTenant, { ...key, affinityStrength: 'STRICT' });
      expect(strict.status).to.equal(409);
      expect(strict.body.errorCode).to.equal('AFFINITY_UNAVAILABLE');
      const rebound = (await select(otherTenant, key)).body.data.id;
      expect(rebound).to.not.equal(first);
      expect(insts.map((i) => i.id)).to.include(rebound);
      for (let i = 0; i < 4; i++) expect((await select(i % 2 ? otherTenant : tenant.http, key)).body.data.id).to.equal(rebound);
    });

    it('applies a per-key select rate limit with 429 and Retry-After', async () => {
      const limited = await startApi(names, { selectRateLimit: 3 });
      try {
        await register(tenant, [{ businessId: 'rate-1', apiIdentifier: 'rate' }]);
        const client = limited.http.with({ 'api-key': tenant.apiKey });
        const results = await Promise.all(Array.from({ length: 12 }, () => select(client, { apiIdentifier: 'rate' })));
        const limitedOnes = results.filter((r) => r.status === 429);
        expect(limitedOnes.length).to.be.greaterThan(0);
        expect(limitedOnes[0]!.headers.get('retry-after')).to.equal('1');
        expect(limitedOnes[0]!.body.errorCode).to.equal('RATE_LIMITED');
      } finally {
        await limited.close();
      }
    });
  });
});

describe('project routing settings (default strategy, panic mode)', function () {
  this.timeout(60_000);
  let names: StackNames;
  let probe: Probe;
  let api: Awaited<ReturnType<typeof startApi>>;
  let tenant: TestTenant;

  before(async () => {
    names = stackNames();
    probe = await openProbe(names);
    api = await startApi(names);
    tenant = await createTenant(api);
  });
  after(async () => {
    await api?.close();
    await probe?.close();
  });

  it('uses the project default strategy when a select names none', async () => {
    await register(tenant, [
      { businessId: 'ds-cheap', apiIdentifier: 'ds', routingParams: { costPerUnit: 1 } },
      { businessId: 'ds-dear', apiIdentifier: 'ds', routingParams: { costPerUnit: 9 } },
    ]);
    const set = await api.admin.request('PUT', `/api/admin/projects/${tenant.projectId}/settings`, { defaultStrategy: 'least_cost' });
    expect(set.status, set.text).to.equal(200);
    expect((set.body as { data: { defaultStrategy: string } }).data.defaultStrategy).to.equal('LEAST_COST');
    for (let i = 0; i < 5; i++) {
      const res = await tenant.http.post<Body>('/api/gateway/select-instance', { apiType: 'MODEL', apiIdentifier: 'ds', explain: true });
      expect(res.body.data.businessId).to.equal('ds-cheap');
      expect(res.body.data.explain!.strategy).to.equal('LEAST_COST');
    }
    const bad = await api.admin.request<{ errorCode: string }>('PUT', `/api/admin/projects/${tenant.projectId}/settings`, { defaultStrategy: 'FASTEST' });
    expect(bad.status).to.equal(400);
    expect(bad.body.errorCode).to.equal('VALIDATION_FAILED');
  });

  it('panic mode serves the least-bad instance, flagged, when everything is open', async () => {
    const [a, b] = await register(tenant, [{ businessId: 'pm-a', apiIdentifier: 'pm' }, { businessId: 'pm-b', apiIdentifier: 'pm' }]);
    await setHealth(probe.redis, names, a!.id, { state: 'OPEN', openUntil: Date.now() + 60_000, stats: { calls: 20, failures: 18, slowCalls: 0, failureRate: 0.9, avgLatencyMs: 100, latencyEwmaMs: 100 } });
    await setHealth(probe.redis, names, b!.id, { state: 'OPEN', openUntil: Date.now() + 60_000, stats: { calls: 20, failures: 12, slowCalls: 0, failureRate: 0.6, avgLatencyMs: 100, latencyEwmaMs: 100 } });
    await waitFor('both open', async () => (await tenant.http.post('/api/gateway/select-instance', { apiType: 'MODEL', apiIdentifier: 'pm' })).status === 503);
    const set = await api.admin.request('PUT', `/api/admin/projects/${tenant.projectId}/settings`, { panicMode: true });
    expect(set.status).to.equal(200);
    const res = await tenant.http.post<{ data: Selected & { panic?: boolean } }>('/api/gateway/select-instance', { apiType: 'MODEL', apiIdentifier: 'pm' });
    expect(res.status).to.equal(200);
    expect(res.body.data.id).to.equal(b!.id);
    expect(res.body.data.panic).to.equal(true);
  });
});
