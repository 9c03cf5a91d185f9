import { expect } from 'chai';
import { createRedis, type Redis } from '@apg/platform';
import { startApi, stackNames, type StackNames } from '../stack';
import { createTenant, type TestTenant } from '../tenant';
import { testEnv, uniqueName } from '../test-env';
import { waitFor } from '../wait-for';
import type { HttpClient } from '../http-client';
import { expectError, expectOk, type Env } from './contract';

/**
 * Multi-tenant security on real servers: what admins do to projects and keys takes effect on the
 * tenant's next request, on this replica at once and on a second replica (sharing Redis) within
 * the notification delay, far below the caches' TTLs (auth 30 s, registry 10 s).
 */
describe('tenant security: revocation, deactivation and deletion take effect at once', function () {
  this.timeout(30_000);
  let names: StackNames;
  let api: Awaited<ReturnType<typeof startApi>>;
  let replica: Awaited<ReturnType<typeof startApi>>;
  let redis: Redis;

  before(async () => {
    names = stackNames();
    api = await startApi(names);
    replica = await startApi(names);
    redis = createRedis(testEnv().redisUrl);
  });

  after(async () => {
    redis?.disconnect();
    await replica?.close();
    await api?.close();
  });

  /** A tenant with one ACTIVE instance, and a client for it on the second replica. */
  const tenantWithInstance = async () => {
    const t = await createTenant(api);
    const apiIdentifier = uniqueName('llm');
    const created = expectOk(await t.http.post<Env<{ id: string }>>('/api/instances', { apiIdentifier, apiType: 'MODEL', businessId: uniqueName('b') }));
    const onReplica = replica.http.with({ 'api-key': t.apiKey });
    return { t, apiIdentifier, instanceId: created.id, onReplica };
  };
  const select = (client: HttpClient, apiIdentifier: string) =>
    client.post<Env<{ id: string }>>('/api/gateway/select-instance', { apiIdentifier, apiType: 'MODEL' });
  const register = (client: HttpClient) => client.post<Env>('/api/instances', { apiIdentifier: 'x', apiType: 'MODEL', businessId: uniqueName('r') });
  /** Warms both replicas' auth and registry caches, so what follows proves invalidation, not a cold read. */
  const warm = async (t: TestTenant, onReplica: HttpClient, apiIdentifier: string) => {
    expectOk(await select(t.http, apiIdentifier));
    expectOk(await select(onReplica, apiIdentifier));
  };

  it('a project set INACTIVE gets 403 on /gateway and /instances at once; ACTIVE again restores it', async () => {
    const { t, apiIdentifier, onReplica } = await tenantWithInstance();
    await warm(t, onReplica, apiIdentifier);
    expectOk(await api.admin.put(`/api/admin/projects/${t.projectId}/status`, { status: 'INACTIVE' }));

    expectError(await select(t.http, apiIdentifier), 403, 'FORBIDDEN');
    expectError(await register(t.http), 403, 'FORBIDDEN');
    expectError(await t.http.post(`/api/instances/MODEL/x/activate`), 403, 'FORBIDDEN');
    expectError(await t.http.get('/api/health/protected'), 403, 'FORBIDDEN');
    await waitFor('the replica to refuse the inactive project', async () => (await select(onReplica, apiIdentifier)).status === 403, { timeoutMs: 3000 });
    expectError(await register(onReplica), 403, 'FORBIDDEN');

    expectOk(await api.admin.put(`/api/admin/projects/${t.projectId}/status`, { status: 'ACTIVE' }));
    expectOk(await select(t.http, apiIdentifier));
    await waitFor('the replica to serve the project again', async () => (await select(onReplica, apiIdentifier)).status === 200, { timeoutMs: 3000 });
  });

  it('a revoked key gets 401 on its next request; restoring it works again', async () => {
    const { t, apiIdentifier, onReplica } = await tenantWithInstance();
    await warm(t, onReplica, apiIdentifier);
    expectOk(await api.admin.put(`/api/admin/apikeys/${t.keyId}/status`, { status: 'REVOKED' }));

    expectError(await select(t.http, apiIdentifier), 401, 'UNAUTHORIZED');
    expectError(await register(t.http), 401, 'UNAUTHORIZED');
    await waitFor('the replica to refuse the revoked key', async () => (await select(onReplica, apiIdentifier)).status === 401, { timeoutMs: 3000 });
    // Re-linking through POST /api/projects is refused as well.
    expectError(await t.http.post('/api/projects', { name: 'again', apiKey: t.apiKey }), 401, 'UNAUTHORIZED');

    expectOk(await api.admin.put(`/api/admin/apikeys/${t.keyId}/status`, { status: 'ACTIVE' }));
    expectOk(await select(t.http, apiIdentifier));
  });

  it('deleting the project removes its instances, revokes its key (401) and drops breaker states', async () => {
    const { t, apiIdentifier, instanceId, onReplica } = await tenantWithInstance();
    await warm(t, onReplica, apiIdentifier);
    const states = `${names.redisPrefix}breaker-states`;
    await redis.hset(states, instanceId, JSON.stringify({ state: 'OPEN', since: Date.now() }));

    expectOk(await api.admin.delete(`/api/admin/projects/${t.projectId}`), '项目删除成功');
    expectError(await select(t.http, apiIdentifier), 401, 'UNAUTHORIZED');
    expectError(await register(t.http), 401, 'UNAUTHORIZED');
    await waitFor('the replica to refuse the deleted project\'s key', async () => (await select(onReplica, apiIdentifier)).status === 401, { timeoutMs: 3000 });
    expectError(await api.admin.get(`/api/admin/instances/${instanceId}`), 404, 'NOT_FOUND');
    expect(await redis.hexists(states, instanceId)).to.equal(0);
    const key = expectOk(await api.admin.get<Env<{ status: string }>>(`/api/admin/apikeys/${t.keyId}`));
    expect(key.status).to.equal('REVOKED');
    // The revoked key cannot be re-linked to a new project either.
    expectError(await t.http.post('/api/projects', { name: 'resurrect', apiKey: t.apiKey }), 401, 'UNAUTHORIZED');
  });

  it('an instance deactivated on one replica leaves selection on the other at once', async () => {
    const { t, apiIdentifier, onReplica } = await tenantWithInstance();
    await warm(t, onReplica, apiIdentifier);
    const [instance] = expectOk(await api.admin.get<Env<{ businessId: string }[]>>(`/api/admin/instances?projectId=${t.projectId}`));
    expectOk(await t.http.post(`/api/instances/MODEL/${instance!.businessId}/deactivate`));
    expectError(await select(t.http, apiIdentifier), 404, 'NO_AVAILABLE_INSTANCE');
    await waitFor('the replica to drop the deactivated instance', async () => (await select(onReplica, apiIdentifier)).status === 404, { timeoutMs: 3000 });
  });

  it('one tenant never sees or changes another tenant\'s instances', async () => {
    const a = await tenantWithInstance();
    const b = await createTenant(api);
    const [instance] = expectOk(await api.admin.get<Env<{ businessId: string }[]>>(`/api/admin/instances?projectId=${a.t.projectId}`));
    const path = `/api/instances/MODEL/${instance!.businessId}`;
    expectError(await select(b.http, a.apiIdentifier), 404, 'NO_AVAILABLE_INSTANCE');
    expectError(await b.http.put(path, { apiIdentifier: 'hijack' }), 404, 'NOT_FOUND');
    expectError(await b.http.post(`${path}/deactivate`), 404, 'NOT_FOUND');
    expectError(await b.http.delete(path), 404, 'NOT_FOUND');
    expect(expectOk(await b.http.delete<Env<number>>('/api/instances/batch', { instances: [{ apiType: 'MODEL', businessId: instance!.businessId }] }))).to.equal(0);
    expect(expectOk(await select(a.t.http, a.apiIdentifier)).id).to.equal(a.instanceId);
    expectError(await b.http.post('/api/gateway/report-result', {
      instanceId: a.instanceId, businessId: instance!.businessId, success: false, latencyMs: 5, callTimestamp: Date.now(),
    }), 404, 'NOT_FOUND');
  });
});
