import { expect } from 'chai';
import { createRedis, type Redis } from '@apg/platform';
import { startApi, stackNames, type StackNames } from '../stack';
import { createTenant, type TestTenant } from '../tenant';
import { testEnv, uniqueName } from '../test-env';
import { expectError, expectInstanceDto, expectOk, expectValidation, type Env } from './contract';

interface Dto {
  id: string;
  projectId: string;
  userId?: string;
  apiIdentifier: string;
  apiType: string;
  businessId: string;
  routingParams: Record<string, unknown>;
  status: string;
  metadata: Record<string, unknown>;
}

/**
 * Contract of the tenant's instance lifecycle (`/api/instances/**`) on a real api, Postgres and
 * Redis: update, delete, activate / deactivate / deprecate, batch delete, protected health, and the
 * registration fixes (re-register updates, duplicates inside a batch are refused).
 */
describe('tenant instance routes (/api/instances)', function () {
  this.timeout(30_000);
  let names: StackNames;
  let api: Awaited<ReturnType<typeof startApi>>;
  let redis: Redis;
  let a: TestTenant;
  let b: TestTenant;

  const bid = () => uniqueName('m');
  const register = (t: TestTenant, businessId: string, extra: Record<string, unknown> = {}) =>
    t.http.post<Env<Dto>>('/api/instances', { apiIdentifier: 'gpt4o', apiType: 'MODEL', businessId, ...extra });
  const registered = async (t: TestTenant, businessId: string, extra: Record<string, unknown> = {}) => expectOk(await register(t, businessId, extra));
  const select = (t: TestTenant, apiIdentifier: string) =>
    t.http.post<Env<Dto>>('/api/gateway/select-instance', { apiIdentifier, apiType: 'MODEL' });
  const adminGet = async (id: string) => api.admin.get<Env<Dto>>(`/api/admin/instances/${id}`);
  /** What AgentX sends for activate/deactivate: `Content-Type: application/json`, `Content-Length: 0`. */
  const emptyJsonPost = (t: TestTenant, path: string) => t.http.request<Env<Dto>>('POST', path, '', { 'content-type': 'application/json' });

  before(async () => {
    names = stackNames();
    api = await startApi(names);
    redis = createRedis(testEnv().redisUrl);
    a = await createTenant(api);
    b = await createTenant(api);
  });

  after(async () => {
    redis?.disconnect();
    await api?.close();
  });

  describe('PUT /api/instances/{apiType}/{businessId}', () => {
    it('updates the sent fields, keeps the others, and returns the full DTO', async () => {
      const businessId = bid();
      const created = await registered(a, businessId, { userId: 'u1', routingParams: { priority: 5 }, metadata: { provider: 'openai' } });
      const res = await a.http.put<Env<Dto>>(`/api/instances/MODEL/${businessId}`, { apiIdentifier: 'gpt4o-v2', userId: 'u2' });
      const data = expectOk(res, 'API实例更新成功');
      expectInstanceDto(data);
      expect(data).to.deep.equal({ ...created, apiIdentifier: 'gpt4o-v2', userId: 'u2' });
      // routingParams/metadata when sent replace the stored objects.
      const again = expectOk(await a.http.put<Env<Dto>>(`/api/instances/MODEL/${businessId}`, { apiIdentifier: 'gpt4o-v2', metadata: { provider: 'azure' }, routingParams: null }));
      expect(again.metadata).to.deep.equal({ provider: 'azure' });
      expect(again.routingParams).to.deep.equal({ priority: 5 });
      expect(again.userId).to.equal('u2');
    });

    it('keeps an INACTIVE instance INACTIVE (seed fault 16) and out of selection', async () => {
      const businessId = bid();
      const apiIdentifier = uniqueName('keep');
      await registered(a, businessId, { apiIdentifier });
      expectOk(await emptyJsonPost(a, `/api/instances/MODEL/${businessId}/deactivate`));
      const data = expectOk(await a.http.put<Env<Dto>>(`/api/instances/MODEL/${businessId}`, { apiIdentifier }));
      expect(data.status).to.equal('INACTIVE');
      expectError(await select(a, apiIdentifier), 404, 'NO_AVAILABLE_INSTANCE');
    });

    it('is served by the new apiIdentifier at once (registry cache dropped)', async () => {
      const businessId = bid();
      const before = uniqueName('old');
      const after = uniqueName('new');
      const created = await registered(a, businessId, { apiIdentifier: before });
      expect(expectOk(await select(a, before)).id).to.equal(created.id);
      expectOk(await a.http.put(`/api/instances/MODEL/${businessId}`, { apiIdentifier: after }));
      expect(expectOk(await select(a, after)).id).to.equal(created.id);
      expectError(await select(a, before), 404, 'NO_AVAILABLE_INSTANCE');
    });

    it('answers 404 for an unknown or another tenant\'s instance, and leaves it unchanged', async () => {
      expectError(await a.http.put(`/api/instances/MODEL/${bid()}`, { apiIdentifier: 'x' }), 404, 'NOT_FOUND');
      const businessId = bid();
      const theirs = await registered(b, businessId);
      expectError(await a.http.put(`/api/instances/MODEL/${businessId}`, { apiIdentifier: 'stolen' }), 404, 'NOT_FOUND');
      expect(expectOk(await adminGet(theirs.id)).apiIdentifier).to.equal('gpt4o');
    });

    it('rejects bad input with 400 VALIDATION_FAILED, never a 5xx', async () => {
      const businessId = bid();
      await registered(a, businessId);
      expectValidation(await a.http.put(`/api/instances/model/${businessId}`, { apiIdentifier: 'x' }), 'apiType');
      expectValidation(await a.http.put(`/api/instances/NOPE/${businessId}`, { apiIdentifier: 'x' }), 'apiType');
      expectValidation(await a.http.put(`/api/instances/MODEL/${businessId}`, {}), 'apiIdentifier');
      expectValidation(await a.http.put(`/api/instances/MODEL/${businessId}`, { apiIdentifier: '   ' }), 'apiIdentifier');
      expectValidation(await a.http.put(`/api/instances/MODEL/${businessId}`, { apiIdentifier: 'x', metadata: 'str' }), 'metadata');
      expectValidation(await a.http.put(`/api/instances/MODEL/${'x'.repeat(129)}`, { apiIdentifier: 'x' }), 'businessId');
      expectError(await a.http.put(`/api/instances/MODEL/${businessId}`, '{"apiIdentifier":'), 400, 'MALFORMED_JSON');
      expectError(await a.http.put(`/api/instances/MODEL/${businessId}`, 'apiIdentifier=x', { 'content-type': 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
      expectError(await a.http.put(`/api/instances/MODEL/${businessId}`, { apiIdentifier: 'nul\u0000' }), 400, 'VALIDATION_FAILED');
      expectError(await a.http.put(`/api/instances/MODEL/nul%00`, { apiIdentifier: 'x' }), 400, 'VALIDATION_FAILED');
    });

    it('needs a valid key', async () => {
      expectError(await api.http.put(`/api/instances/MODEL/${bid()}`, { apiIdentifier: 'x' }), 401, 'UNAUTHORIZED');
    });
  });

  describe('DELETE /api/instances/{apiType}/{businessId}', () => {
    it('deletes, takes it out of selection, drops its breaker state, then answers 404', async () => {
      const businessId = bid();
      const apiIdentifier = uniqueName('del');
      const created = await registered(a, businessId, { apiIdentifier });
      expectOk(await select(a, apiIdentifier));
      const states = `${names.redisPrefix}breaker-states`;
      await redis.hset(states, created.id, JSON.stringify({ state: 'OPEN', since: Date.now() }));

      const res = await a.http.delete<Env>(`/api/instances/MODEL/${businessId}`);
      expect(expectOk(res, 'API实例删除成功')).to.equal(undefined);
      expect(await redis.hexists(states, created.id)).to.equal(0);
      expectError(await select(a, apiIdentifier), 404, 'NO_AVAILABLE_INSTANCE');
      expectError(await adminGet(created.id), 404, 'NOT_FOUND');
      expectError(await a.http.delete(`/api/instances/MODEL/${businessId}`), 404, 'NOT_FOUND');
    });

    it('cannot delete another tenant\'s instance', async () => {
      const businessId = bid();
      const theirs = await registered(b, businessId);
      expectError(await a.http.delete(`/api/instances/MODEL/${businessId}`), 404, 'NOT_FOUND');
      expectOk(await adminGet(theirs.id));
    });

    it('answers 400 for a bad apiType', async () => {
      expectValidation(await a.http.delete(`/api/instances/FOO/${bid()}`), 'apiType');
    });
  });

  describe('POST /api/instances/{apiType}/{businessId}/activate|deactivate|deprecate', () => {
    for (const [action, status, message] of [
      ['deactivate', 'INACTIVE', 'API实例停用成功'],
      ['deprecate', 'DEPRECATED', 'API实例标记为已弃用成功'],
      ['activate', 'ACTIVE', 'API实例激活成功'],
    ] as const) {
      it(`${action}: empty JSON body accepted, returns the DTO with status ${status}`, async () => {
        const businessId = bid();
        const created = await registered(a, businessId, { metadata: { k: 1 } });
        if (status === 'ACTIVE') expectOk(await emptyJsonPost(a, `/api/instances/MODEL/${businessId}/deactivate`));
        const data = expectOk(await emptyJsonPost(a, `/api/instances/MODEL/${businessId}/${action}`), message);
        expectInstanceDto(data);
        expect(data).to.deep.equal({ ...created, status });
        // No body and no content type at all works as well.
        expect(expectOk(await a.http.post<Env<Dto>>(`/api/instances/MODEL/${businessId}/${action}`)).status).to.equal(status);
      });

      it(`${action}: 404 when absent or another tenant's, 400 for a bad apiType`, async () => {
        expectError(await emptyJsonPost(a, `/api/instances/MODEL/${bid()}/${action}`), 404, 'NOT_FOUND');
        const businessId = bid();
        await registered(b, businessId);
        expectError(await emptyJsonPost(a, `/api/instances/MODEL/${businessId}/${action}`), 404, 'NOT_FOUND');
        expectValidation(await emptyJsonPost(a, `/api/instances/Model/${businessId}/${action}`), 'apiType');
      });
    }

    it('deactivate takes the instance out of selection and activate brings it back', async () => {
      const businessId = bid();
      const apiIdentifier = uniqueName('toggle');
      const created = await registered(a, businessId, { apiIdentifier });
      expectOk(await emptyJsonPost(a, `/api/instances/MODEL/${businessId}/deactivate`));
      expectError(await select(a, apiIdentifier), 404, 'NO_AVAILABLE_INSTANCE');
      expectOk(await emptyJsonPost(a, `/api/instances/MODEL/${businessId}/activate`));
      expect(expectOk(await select(a, apiIdentifier)).id).to.equal(created.id);
    });

    it('answers 405 for a wrong method on an existing path', async () => {
      const res = await a.http.get<Env>(`/api/instances/MODEL/${bid()}/activate`);
      expectError(res, 405, 'METHOD_NOT_ALLOWED');
      expect(res.headers.get('allow')).to.include('POST');
    });
  });

  describe('DELETE /api/instances/batch', () => {
    it('deletes the listed instances of the caller only; data = number deleted', async () => {
      const [x, y, z] = [bid(), bid(), bid()];
      const mine = await Promise.all([x, y].map((id) => registered(a, id)));
      const theirs = await registered(b, z);
      await redis.hset(`${names.redisPrefix}breaker-states`, mine[0]!.id, '{"state":"OPEN","since":1}');
      const res = await a.http.delete<Env<number>>('/api/instances/batch', {
        instances: [
          { apiType: 'MODEL', businessId: x },
          { apiType: 'MODEL', businessId: y },
          { apiType: 'MODEL', businessId: y }, // repeated: counted once
          { apiType: 'MODEL', businessId: z }, // another tenant's: untouched
          { apiType: 'SMS_SERVICE', businessId: x }, // no such type: nothing
        ],
      });
      expect(expectOk(res, '批量API实例删除成功')).to.equal(2);
      for (const m of mine) expectError(await adminGet(m.id), 404, 'NOT_FOUND');
      expectOk(await adminGet(theirs.id));
      expect(await redis.hexists(`${names.redisPrefix}breaker-states`, mine[0]!.id)).to.equal(0);
      expect(expectOk(await a.http.delete<Env<number>>('/api/instances/batch', { instances: [{ apiType: 'MODEL', businessId: x }] }))).to.equal(0);
    });

    it('validates the list and every item', async () => {
      expectValidation(await a.http.delete('/api/instances/batch', { instances: [] }), 'instances');
      expectValidation(await a.http.delete('/api/instances/batch', {}), 'instances');
      expectValidation(await a.http.delete('/api/instances/batch'), 'instances');
      expectValidation(await a.http.delete('/api/instances/batch', { instances: [{ apiType: 'MODEL', businessId: 'ok' }, { apiType: 'model', businessId: 'x' }] }), 'instances.1.apiType');
      expectValidation(await a.http.delete('/api/instances/batch', { instances: [{ apiType: 'MODEL' }] }), 'instances.0.businessId');
      expectValidation(await a.http.delete('/api/instances/batch', { instances: 'all' }), 'instances');
    });
  });

  describe('registration fixes (POST /api/instances, POST /api/instances/batch)', () => {
    it('re-registering updates routingParams and metadata, keeps what was not sent, keeps the status', async () => {
      const businessId = bid();
      const created = await registered(a, businessId, { routingParams: { priority: 1 }, metadata: { v: 1 } });
      expectOk(await emptyJsonPost(a, `/api/instances/MODEL/${businessId}/deactivate`));
      const again = expectOk(await register(a, businessId, { routingParams: { priority: 9 }, metadata: { v: 2 } }), 'API实例已存在');
      expectInstanceDto(again);
      expect(again).to.deep.equal({ ...created, routingParams: { priority: 9 }, metadata: { v: 2 }, status: 'INACTIVE' });
      const third = expectOk(await register(a, businessId, { metadata: { v: 3 } }));
      expect(third.routingParams).to.deep.equal({ priority: 9 });
      expect(third.metadata).to.deep.equal({ v: 3 });
    });

    it('refuses a batch with a duplicate inside it, naming the index, and writes nothing', async () => {
      const [x, y] = [bid(), bid()];
      const res = await a.http.post<Env>('/api/instances/batch', {
        instances: [
          { apiIdentifier: 'gpt4o', apiType: 'MODEL', businessId: x },
          { apiIdentifier: 'gpt4o', apiType: 'MODEL', businessId: y },
          { apiIdentifier: 'gpt4o-b', apiType: 'MODEL', businessId: x },
        ],
      });
      const body = expectValidation(res, 'instances.2');
      expect(body.message).to.include('instances[2]').and.include('instances[0]');
      const listed = expectOk(await api.admin.get<Env<Dto[]>>(`/api/admin/instances?projectId=${a.projectId}`));
      expect(listed.filter((d) => d.businessId === x || d.businessId === y)).to.deep.equal([]);
    });

    it('creates the batch once duplicates are gone (same businessId under two apiTypes is fine)', async () => {
      const x = bid();
      const res = await a.http.post<Env<Dto[]>>('/api/instances/batch', {
        instances: [
          { apiIdentifier: 'gpt4o', apiType: 'MODEL', businessId: x },
          { apiIdentifier: 'sms', apiType: 'SMS_SERVICE', businessId: x },
        ],
      });
      const data = expectOk(res, '批量API实例创建成功');
      expect(data).to.have.length(2);
      data.forEach((d) => expectInstanceDto(d));
    });
  });

  describe('GET /api/health/protected', () => {
    it('requires a valid key (seed fault 5)', async () => {
      expectError(await api.http.get('/api/health/protected'), 401, 'UNAUTHORIZED');
      expectError(await api.http.get('/api/health/protected', { 'api-key': 'gw_unknown' }), 401, 'UNAUTHORIZED');
      expectError(await api.admin.get('/api/health/protected'), 401, 'UNAUTHORIZED');
    });

    it('answers the seed\'s shape with a valid key (header, query or bearer)', async () => {
      for (const res of [
        await a.http.get<Env<Record<string, unknown>>>('/api/health/protected'),
        await api.http.get<Env<Record<string, unknown>>>(`/api/health/protected?apiKey=${a.apiKey}`),
        await api.http.get<Env<Record<string, unknown>>>('/api/health/protected', { authorization: `Bearer ${a.apiKey}` }),
      ]) {
        const data = expectOk(res, 'API Key验证成功');
        expect(Object.keys(data).sort()).to.deep.equal(['authenticated', 'message', 'timestamp']);
        expect(data['authenticated']).to.equal(true);
        expect(data['message']).to.be.a('string').and.not.empty;
        expect(data['timestamp']).to.match(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
      }
    });

    it('leaves /api/health public', async () => {
      expectOk(await api.http.get('/api/health'), '服务运行正常');
    });
  });
});
