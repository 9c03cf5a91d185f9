import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { RedisKeys } from '@apg/platform';
import type { HttpClient, HttpResult } from '../http-client';
import { openProbe, startApi, stackNames, type Probe, type StackNames } from '../stack';
import { createTenant, type TestTenant } from '../tenant';
import { uniqueName } from '../test-env';
import { waitFor } from '../wait-for';
import { expectError, expectOk, type Env } from './contract';

/**
 * Issue 8, "tenants are isolated in cost too": one tenant floods every resource it can reach —
 * instances, metadata, batches, selects, affinity keys, leases, anonymous project creation and key
 * guessing — on the real api, Postgres, Redis and Kafka. It gets 4xx/429 with errorCodes, the Redis keys
 * it creates stay bounded (and every one has a TTL or is one of the documented no-TTL keys), and another
 * tenant's selects and reports keep working throughout. Quotas are set small so the floods stay short.
 */
const QUOTAS = { maxInstances: 50, maxJsonBytes: 2048, maxBatchItems: 20, selectsPerSecond: 30, maxAffinityBindings: 25, maxOpenLeases: 40 };
// A token every 2 s: slow enough that no refill lands between the flood and the checks that follow it.
const ANON = { ratePerSecond: 0.5, burst: 12, maxClients: 100 };

describe('hostile tenant: floods get 4xx/429, Redis stays bounded, the neighbour keeps working', function () {
  this.timeout(120_000);
  let names: StackNames;
  let probe: Probe;
  let api: Awaited<ReturnType<typeof startApi>>;
  let keys: RedisKeys;
  let victim: TestTenant;
  let hostile: TestTenant;
  let victimInstance: { id: string; businessId: string };
  let victimCalls = 0;

  const select = (client: HttpClient, body: Record<string, unknown>) =>
    client.post<Env<{ id: string; selectionId: string }>>('/api/gateway/select-instance', { apiType: 'MODEL', ...body });

  /** The neighbour's select and report must succeed whatever the hostile tenant just did. */
  const victimStillWorks = async () => {
    const chosen = expectOk(await select(victim.http, { apiIdentifier: 'victim-model' }));
    expect(chosen.id).to.equal(victimInstance.id);
    expectOk(await victim.http.post('/api/gateway/report-result', {
      instanceId: chosen.id, businessId: victimInstance.businessId, success: true, latencyMs: 12, selectionId: chosen.selectionId,
    }));
    victimCalls++;
  };

  const instanceCount = async (projectId: string) =>
    (await probe.db.query<{ n: number }>('test.count', 'SELECT count(*)::int AS n FROM api_instances WHERE project_id = $1', [projectId])).rows[0]!.n;

  const scanKeys = async (pattern: string): Promise<string[]> => {
    const out: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await probe.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      out.push(...batch);
    } while (cursor !== '0');
    return out;
  };

  const hostileLeases = async () => (await probe.redis.hvals(keys.leases())).filter((v) => v.split('|')[1] === hostile.projectId).length;

  before(async () => {
    names = stackNames();
    probe = await openProbe(names);
    keys = new RedisKeys(names.redisPrefix);
    api = await startApi(names, { quotas: QUOTAS, anonymousThrottle: ANON });
    victim = await createTenant(api, uniqueName('victim'));
    hostile = await createTenant(api, uniqueName('hostile'));
    const created = expectOk(await victim.http.post<Env<{ id: string; businessId: string }>>('/api/instances', { apiIdentifier: 'victim-model', apiType: 'MODEL', businessId: 'victim-1' }));
    victimInstance = { id: created.id, businessId: created.businessId };
    expectOk(await hostile.http.post('/api/instances', { apiIdentifier: 'h-model', apiType: 'MODEL', businessId: 'h-0' }));
    await victimStillWorks();
  });

  after(async () => {
    await api?.close();
    await probe?.close();
  });

  it('instances: batches beyond maxBatchItems and registrations beyond maxInstances are 422 QUOTA_EXCEEDED, exactly at the quota under concurrency', async () => {
    const item = (b: string) => ({ apiIdentifier: 'h-flood', apiType: 'MODEL', businessId: b });
    // One item too many: refused before any item is parsed, nothing written.
    const tooLong = await hostile.http.post<Env>('/api/instances/batch', { instances: Array.from({ length: QUOTAS.maxBatchItems + 1 }, (_, i) => item(`long-${i}`)) });
    expect(expectError(tooLong, 422, 'QUOTA_EXCEEDED').errors?.[0]?.field).to.equal('instances');
    // Even a 100,000-item batch (within the body limit) costs only the length check.
    expectError(await hostile.http.post('/api/instances/batch', { instances: Array.from({ length: 100_000 }, () => 0) }), 422, 'QUOTA_EXCEEDED');
    expectError(await hostile.http.delete('/api/instances/batch', { instances: Array.from({ length: QUOTAS.maxBatchItems + 1 }, (_, i) => ({ apiType: 'MODEL', businessId: `d-${i}` })) }), 422, 'QUOTA_EXCEEDED');
    expect(await instanceCount(hostile.projectId)).to.equal(1);

    // Two full batches: 1 + 20 + 20 = 41. A third would make 61: refused whole (all or nothing).
    for (const round of [1, 2]) {
      expectOk(await hostile.http.post('/api/instances/batch', { instances: Array.from({ length: QUOTAS.maxBatchItems }, (_, i) => item(`b${round}-${i}`)) }));
    }
    const over = await hostile.http.post<Env>('/api/instances/batch', { instances: Array.from({ length: QUOTAS.maxBatchItems }, (_, i) => item(`b3-${i}`)) });
    expect(expectError(over, 422, 'QUOTA_EXCEEDED').message).to.match(/at most 50 instances; it has 41 and this request adds 20/);
    expect(await instanceCount(hostile.projectId)).to.equal(41);

    // 15 concurrent single registrations for the 9 free places: the per-project lock admits exactly 9.
    const racing = await Promise.all(Array.from({ length: 15 }, (_, i) => hostile.http.post<Env>('/api/instances', item(`race-${i}`))));
    expect(racing.filter((r) => r.status === 200)).to.have.length(9);
    for (const r of racing.filter((x) => x.status !== 200)) expectError(r, 422, 'QUOTA_EXCEEDED');
    expect(await instanceCount(hostile.projectId)).to.equal(QUOTAS.maxInstances);

    // At the quota, re-registering an existing instance still works (it adds nothing).
    expectOk(await hostile.http.post('/api/instances', item('b1-0')), 'API实例已存在');
    expect(await instanceCount(hostile.projectId)).to.equal(QUOTAS.maxInstances);
    // The neighbour's own quota is untouched.
    expectOk(await victim.http.post('/api/instances', { apiIdentifier: 'victim-spare', apiType: 'MODEL', businessId: 'victim-spare' }));
    await victimStillWorks();
  });

  it('metadata and routingParams beyond maxJsonBytes are 422 QUOTA_EXCEEDED naming the field, on create, batch and update', async () => {
    const huge = 'x'.repeat(QUOTAS.maxJsonBytes);
    const single = await hostile.http.post<Env>('/api/instances', { apiIdentifier: 'h-model', apiType: 'MODEL', businessId: 'h-0', metadata: { blob: huge } });
    expect(expectError(single, 422, 'QUOTA_EXCEEDED').errors?.[0]?.field).to.equal('metadata');
    const params = await hostile.http.post<Env>('/api/instances', { apiIdentifier: 'h-model', apiType: 'MODEL', businessId: 'h-0', routingParams: { note: huge } });
    expect(expectError(params, 422, 'QUOTA_EXCEEDED').errors?.[0]?.field).to.equal('routingParams');
    // Multi-byte characters count in bytes: 700 × 3 bytes > 2048.
    const cjk = await hostile.http.put<Env>('/api/instances/MODEL/h-0', { apiIdentifier: 'h-model', metadata: { s: '汉'.repeat(700) } });
    expect(expectError(cjk, 422, 'QUOTA_EXCEEDED').errors?.[0]?.field).to.equal('metadata');
    const batch = await hostile.http.post<Env>('/api/instances/batch', {
      instances: [{ apiIdentifier: 'h-model', apiType: 'MODEL', businessId: 'h-0' }, { apiIdentifier: 'h-model', apiType: 'MODEL', businessId: 'b1-1', metadata: { blob: huge } }],
    });
    expect(expectError(batch, 422, 'QUOTA_EXCEEDED').errors?.[0]?.field).to.equal('instances.1.metadata');
    const stored = await probe.db.query<{ n: number }>('test.big', `SELECT count(*)::int AS n FROM api_instances WHERE project_id = $1 AND octet_length(metadata::text) > 1000`, [hostile.projectId]);
    expect(stored.rows[0]!.n).to.equal(0);
    // Just under the quota is accepted.
    expectOk(await hostile.http.put('/api/instances/MODEL/h-0', { apiIdentifier: 'h-model', metadata: { blob: 'x'.repeat(QUOTAS.maxJsonBytes - 20) } }));
    await victimStillWorks();
  });

  it('selects beyond selectsPerSecond are 429 RATE_LIMITED with Retry-After; the neighbour is not limited', async () => {
    const started = Date.now();
    const flood = await Promise.all(Array.from({ length: 150 }, () => select(hostile.http, { apiIdentifier: 'h-model' })));
    const seconds = Math.floor(Date.now() / 1000) - Math.floor(started / 1000) + 1;
    const ok = flood.filter((r) => r.status === 200).length;
    const limited = flood.filter((r) => r.status === 429);
    expect(ok + limited.length).to.equal(150);
    expect(ok).to.be.at.most(QUOTAS.selectsPerSecond * seconds);
    expect(limited.length).to.be.greaterThan(0);
    expectError(limited[0]!, 429, 'RATE_LIMITED');
    expect(limited[0]!.headers.get('retry-after')).to.equal('1');
    // The neighbour's counter is its own: a burst of its quota at once all passes.
    const neighbour = await Promise.all(Array.from({ length: 10 }, () => select(victim.http, { apiIdentifier: 'victim-model' })));
    expect(neighbour.map((r) => r.status)).to.deep.equal(Array(10).fill(200));
    await victimStillWorks();
  });

  /** Selects at most `perSecond` per wall-clock second, so the rate limit does not hide what is measured. */
  const paced = async (count: number, perSecond: number, body: (i: number) => Record<string, unknown>): Promise<HttpResult<Env<{ id: string; selectionId: string }>>[]> => {
    const results: HttpResult<Env<{ id: string; selectionId: string }>>[] = [];
    // Start on a fresh second: an earlier flood may have used this one's budget.
    const first = Math.floor(Date.now() / 1000);
    await waitFor('a fresh wall-clock second', () => Math.floor(Date.now() / 1000) > first, { intervalMs: 20 });
    for (let i = 0; i < count; i += perSecond) {
      const second = Math.floor(Date.now() / 1000);
      results.push(...(await Promise.all(Array.from({ length: Math.min(perSecond, count - i) }, (_, k) => select(hostile.http, body(i + k))))));
      await waitFor('the next wall-clock second', () => Math.floor(Date.now() / 1000) > second, { intervalMs: 20 });
    }
    return results;
  };

  it('affinity keys: a flood of distinct session keys keeps at most maxAffinityBindings bindings, least recently used dropped', async () => {
    const sessions = Array.from({ length: 100 }, (_, i) => `s-${i}-${randomBytes(8).toString('hex')}`);
    const results = await paced(100, 20, (i) => ({ apiIdentifier: 'h-model', affinityType: 'session', affinityKey: sessions[i] }));
    expect(results.map((r) => r.status).filter((st) => st !== 200)).to.deep.equal([]);
    const pattern = `${names.redisPrefix}aff:${hostile.projectId}:*`;
    // The bindings are written in the background of each select: wait until the last ones landed.
    await waitFor('the hostile tenant\'s bindings to settle at the cap', async () => (await scanKeys(pattern)).length === QUOTAS.maxAffinityBindings);
    expect(await probe.redis.zcard(keys.affinityIndex(hostile.projectId))).to.equal(QUOTAS.maxAffinityBindings);
    for (const key of await scanKeys(pattern)) expect(await probe.redis.pttl(key), key).to.be.greaterThan(0);
    // The last paced second's 20 sessions (bound last) survive; the first second's 20 were dropped.
    const bound = async (session: string) => (await probe.redis.exists(keys.affinity(hostile.projectId, 'MODEL', 'h-model', 'session', session))) === 1;
    for (const session of sessions.slice(80)) expect(await bound(session), session).to.equal(true);
    for (const session of sessions.slice(0, 20)) expect(await bound(session), session).to.equal(false);
    await victimStillWorks();
  });

  it('leases: selections nobody reports stop being leased at maxOpenLeases; the neighbour still gets leases', async () => {
    // Earlier tests already left ~50 unreported hostile selections; add more, then wait for the background writes.
    await paced(40, 20, () => ({ apiIdentifier: 'h-model' }));
    await waitFor('the hostile tenant\'s lease count to reach its cap', async () => Number(await probe.redis.get(keys.openLeases(hostile.projectId))) === QUOTAS.maxOpenLeases);
    expect(await hostileLeases()).to.equal(QUOTAS.maxOpenLeases);
    // Beyond the cap a select is still answered (the tenant hurts only its own load figures) …
    const extra = expectOk(await select(hostile.http, { apiIdentifier: 'h-model' }));
    // … but leaves no lease behind, while the neighbour's lease is recorded.
    const mine = expectOk(await select(victim.http, { apiIdentifier: 'victim-model' }));
    await waitFor('the neighbour\'s lease', async () => (await probe.redis.hexists(keys.leases(), mine.selectionId)) === 1);
    expect(await probe.redis.hexists(keys.leases(), extra.selectionId)).to.equal(0);
    expect(await hostileLeases()).to.equal(QUOTAS.maxOpenLeases);
    // Reporting a lease frees its place and the count follows.
    const leased = (await probe.redis.hgetall(keys.leases()));
    const [selectionId, value] = Object.entries(leased).find(([, v]) => v.split('|')[1] === hostile.projectId)!;
    const instanceId = value.split('|')[0]!;
    const inst = (await probe.db.query<{ business_id: string }>('test.inst', 'SELECT business_id FROM api_instances WHERE id = $1', [instanceId])).rows[0]!;
    expectOk(await hostile.http.post('/api/gateway/report-result', { instanceId, businessId: inst.business_id, success: true, latencyMs: 5, selectionId }));
    await waitFor('the lease count to drop by one', async () => Number(await probe.redis.get(keys.openLeases(hostile.projectId))) === QUOTAS.maxOpenLeases - 1);
    await victimStillWorks();
  });

  it('anonymous routes: one 401 for unknown, revoked and expired keys (no oracle), then 429 + Retry-After; key guessing is throttled too; known keys are never charged', async () => {
    const revoked = expectOk(await api.admin.post<Env<{ id: string; apiKeyValue: string }>>('/api/admin/apikeys', { description: 'to revoke' }));
    expectOk(await api.admin.put(`/api/admin/apikeys/${revoked.id}/status`, { status: 'REVOKED' }));
    const expired = expectOk(await api.admin.post<Env<{ id: string; apiKeyValue: string }>>('/api/admin/apikeys', { description: 'to expire' }));
    expectOk(await api.admin.put(`/api/admin/apikeys/${expired.id}/status`, { status: 'EXPIRED' }));
    const answers = [];
    for (const apiKey of [`gw_${randomBytes(24).toString('hex')}`, revoked.apiKeyValue, expired.apiKeyValue]) {
      const res = await api.http.post<Env>('/api/projects', { name: 'probe', apiKey });
      const { timestamp: _t, ...rest } = expectError(res, 401, 'UNAUTHORIZED') as Env & { timestamp?: number };
      answers.push(rest);
    }
    expect(answers[1]).to.deep.equal(answers[0]);
    expect(answers[2]).to.deep.equal(answers[0]);

    // A flood of project creations with guessed keys: the address's burst, then 429s that say when to retry.
    const flood = await Promise.all(Array.from({ length: 40 }, () => api.http.post<Env>('/api/projects', { name: 'flood', apiKey: `gw_${randomBytes(24).toString('hex')}` })));
    const limited = flood.filter((r) => r.status === 429);
    expect(flood.filter((r) => r.status === 401).length).to.be.at.most(ANON.burst);
    expect(limited.length).to.be.at.least(40 - ANON.burst);
    expectError(limited[0]!, 429, 'RATE_LIMITED');
    expect(Number(limited[0]!.headers.get('retry-after'))).to.be.within(1, 5);
    // Guessing keys on tenant routes draws on the same budget (each guess would be a database query) …
    const guess = await api.http.post<Env>('/api/gateway/select-instance', { apiIdentifier: 'x', apiType: 'MODEL' }, { 'api-key': `gw_${randomBytes(24).toString('hex')}` });
    expectError(guess, 429, 'RATE_LIMITED');
    expectError(await api.http.get('/api/health'), 429, 'RATE_LIMITED');
    // … while the tenants' known keys, from the very same address, are never charged.
    await victimStillWorks();
    expectOk(await select(hostile.http, { apiIdentifier: 'h-model' }));
    // The budget comes back with time.
    await waitFor('the address\'s budget to refill', async () => (await api.http.get('/api/health')).status === 200, { intervalMs: 1000, timeoutMs: 15_000 });
  });

  it('an admin override of a quota applies on the next request; null restores the default', async () => {
    const at = await instanceCount(victim.projectId);
    const set = await api.admin.put<Env<{ quotaOverrides?: Record<string, number> }>>(`/api/admin/projects/${victim.projectId}/quotas`, { maxInstances: at, selectsPerSecond: 500 });
    expect(expectOk(set).quotaOverrides).to.deep.equal({ maxInstances: at, selectsPerSecond: 500 });
    const refused = await victim.http.post<Env>('/api/instances', { apiIdentifier: 'victim-more', apiType: 'MODEL', businessId: 'victim-more' });
    expect(expectError(refused, 422, 'QUOTA_EXCEEDED').message).to.contain(`at most ${at} instances`);
    expectError(await api.admin.put(`/api/admin/projects/${victim.projectId}/quotas`, { maxInstances: -1 }), 400, 'VALIDATION_FAILED');
    expectError(await api.admin.put(`/api/admin/projects/${victim.projectId}/quotas`, { surprise: 1 }), 400, 'VALIDATION_FAILED');
    expectError(await api.admin.put(`/api/admin/projects/${victim.projectId}/quotas`, {}), 400, 'VALIDATION_FAILED');
    const reset = expectOk(await api.admin.put<Env<{ quotaOverrides?: Record<string, number> }>>(`/api/admin/projects/${victim.projectId}/quotas`, { maxInstances: null }));
    expect(reset.quotaOverrides).to.deep.equal({ selectsPerSecond: 500 });
    expectOk(await victim.http.post('/api/instances', { apiIdentifier: 'victim-more', apiType: 'MODEL', businessId: 'victim-more' }));
    await victimStillWorks();
  });

  it('every Redis key this traffic created has a TTL, except the documented no-TTL ones, and the per-project counts are bounded', async () => {
    const all = await scanKeys(`${names.redisPrefix}*`);
    const noTtl = new Set([keys.leases(), keys.leaseExpiries(), keys.breakerStates()]);
    const withoutTtl: string[] = [];
    for (const key of all) if (!noTtl.has(key) && (await probe.redis.pttl(key)) < 0) withoutTtl.push(key);
    expect(withoutTtl).to.deep.equal([]);
    const of = (family: string, projectId: string) => all.filter((k) => k.startsWith(`${names.redisPrefix}${family}:${projectId}`)).length;
    expect(of('aff', hostile.projectId)).to.be.at.most(QUOTAS.maxAffinityBindings);
    expect(of('rl', hostile.projectId)).to.be.at.most(2);
    expect(await probe.redis.hlen(keys.leases())).to.be.at.most(QUOTAS.maxOpenLeases + victimCalls + 20);
    expect(await probe.redis.zcard(keys.leaseExpiries())).to.equal(await probe.redis.hlen(keys.leases()));
    await victimStillWorks();
  });
});
