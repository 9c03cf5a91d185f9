import { expect } from 'chai';
import { startApi, stackNames } from '../stack';
import { createTenant } from '../tenant';
import { expectApiKeyDto, expectError, expectOk, expectValidation, type Env } from './contract';

interface KeyDto {
  id: string;
  apiKeyValue?: string;
  apiKeyPrefix: string;
  description?: string;
  status: string;
  expiresAt?: string;
  createdAt: string;
  updatedAt: string;
}

/** Contract of `/api/admin/apikeys/**` on a real api and Postgres (the routes this change added or touched). */
describe('admin API key routes (/api/admin/apikeys)', function () {
  this.timeout(30_000);
  let api: Awaited<ReturnType<typeof startApi>>;

  before(async () => {
    api = await startApi(stackNames());
  });

  after(async () => {
    await api?.close();
  });

  const createKey = async (body: Record<string, unknown> = {}) => {
    const data = expectOk(await api.admin.post<Env<KeyDto>>('/api/admin/apikeys', body), 'API Key 生成成功');
    expectApiKeyDto(data, { withValue: true });
    return data as KeyDto & { apiKeyValue: string };
  };
  const validate = async (key: string) => expectOk(await api.admin.get<Env<boolean>>(`/api/admin/apikeys/validate?apiKey=${encodeURIComponent(key)}`));

  it('POST / shows the plaintext once; GET / and GET /{id} never again', async () => {
    const key = await createKey({ description: 'once' });
    expect(key.status).to.equal('UNUSED');
    expect(key.apiKeyValue.startsWith(key.apiKeyPrefix)).to.equal(true);
    const one = await api.admin.get<Env<KeyDto>>(`/api/admin/apikeys/${key.id}`);
    expectApiKeyDto(expectOk(one));
    expect(one.text).not.to.include(key.apiKeyValue);
    const all = await api.admin.get<Env<KeyDto[]>>('/api/admin/apikeys');
    expectOk(all).forEach((k) => expectApiKeyDto(k));
    expect(all.text).not.to.include(key.apiKeyValue);
  });

  it('GET /{id}: unknown and malformed ids are 404', async () => {
    expectError(await api.admin.get(`/api/admin/apikeys/${'0'.repeat(32)}`), 404, 'NOT_FOUND');
    expectError(await api.admin.get('/api/admin/apikeys/%00'), 404, 'NOT_FOUND');
  });

  describe('PUT /{id}', () => {
    it('updates description and/or expiresAt (seed format or ISO) and keeps what was not sent', async () => {
      const key = await createKey({ description: 'before' });
      const d1 = expectOk(await api.admin.put<Env<KeyDto>>(`/api/admin/apikeys/${key.id}`, { description: 'after' }), 'API Key 修改成功');
      expectApiKeyDto(d1);
      expect(d1).to.include({ id: key.id, description: 'after', status: 'UNUSED' });
      expect(d1).not.to.have.property('expiresAt');
      const d2 = expectOk(await api.admin.put<Env<KeyDto>>(`/api/admin/apikeys/${key.id}`, { expiresAt: '2099-12-31 23:59:59' }));
      expect(d2.expiresAt).to.equal('2099-12-31T23:59:59.000Z');
      expect(d2.description).to.equal('after');
      const d3 = expectOk(await api.admin.put<Env<KeyDto>>(`/api/admin/apikeys/${key.id}`, { expiresAt: '2098-01-02T03:04:05+02:00', description: null }));
      expect(d3.expiresAt).to.equal('2098-01-02T01:04:05.000Z');
      expect(d3.description).to.equal('after');
      expect(Date.parse(d3.updatedAt)).to.be.at.least(Date.parse(key.updatedAt));
    });

    it('is a 400 when neither field is sent or a value is bad, a 404 for an unknown id', async () => {
      const key = await createKey();
      expectValidation(await api.admin.put(`/api/admin/apikeys/${key.id}`, {}), 'description');
      expectValidation(await api.admin.put(`/api/admin/apikeys/${key.id}`, { description: null, expiresAt: null }), 'description');
      expectValidation(await api.admin.put(`/api/admin/apikeys/${key.id}`), 'description');
      expectValidation(await api.admin.put(`/api/admin/apikeys/${key.id}`, { expiresAt: 'tomorrow' }), 'expiresAt');
      expectValidation(await api.admin.put(`/api/admin/apikeys/${key.id}`, { description: 42 }), 'description');
      expectError(await api.admin.put(`/api/admin/apikeys/${'e'.repeat(32)}`, { description: 'x' }), 404, 'NOT_FOUND');
      expectError(await api.admin.put('/api/admin/apikeys/validate', { description: 'x' }), 404, 'NOT_FOUND');
    });

    it('an expiry in the past locks the tenant out on the next request', async () => {
      const t = await createTenant(api);
      expectOk(await t.http.get('/api/health/protected'));
      expectOk(await api.admin.put(`/api/admin/apikeys/${t.keyId}`, { expiresAt: '2000-01-01 00:00:00' }));
      expectError(await t.http.get('/api/health/protected'), 401, 'UNAUTHORIZED');
      expect(await validate(t.apiKey)).to.equal(false);
    });
  });

  describe('GET /validate?apiKey=', () => {
    it('is true for UNUSED and ACTIVE keys, false for unknown, REVOKED and expired ones', async () => {
      const unused = await createKey();
      expect(await validate(unused.apiKeyValue)).to.equal(true);
      const t = await createTenant(api);
      expect(await validate(t.apiKey)).to.equal(true);
      expect(await validate('gw_doesnotexist')).to.equal(false);
      expectOk(await api.admin.put(`/api/admin/apikeys/${unused.id}/status`, { status: 'REVOKED' }));
      expect(await validate(unused.apiKeyValue)).to.equal(false);
      const expired = await createKey({ expiresAt: '2001-01-01 00:00:00' });
      expect(await validate(expired.apiKeyValue)).to.equal(false);
    });

    it('is not taken for an id by /{id}, and the parameter is required', async () => {
      expectValidation(await api.admin.get('/api/admin/apikeys/validate'), 'apiKey');
      expectValidation(await api.admin.get('/api/admin/apikeys/validate?apiKey='), 'apiKey');
      expectError(await api.http.get('/api/admin/apikeys/validate?apiKey=x'), 401, 'UNAUTHORIZED');
    });
  });

  describe('PUT /{id}/status and DELETE /{id}', () => {
    it('PUT /{id}/status: DTO back, bad status 400, unknown id 404', async () => {
      const key = await createKey();
      const data = expectOk(await api.admin.put<Env<KeyDto>>(`/api/admin/apikeys/${key.id}/status`, { status: 'ACTIVE' }), 'API Key 状态修改成功');
      expectApiKeyDto(data);
      expect(data.status).to.equal('ACTIVE');
      expectValidation(await api.admin.put(`/api/admin/apikeys/${key.id}/status`, { status: 'active' }), 'status');
      expectValidation(await api.admin.put(`/api/admin/apikeys/${key.id}/status`, {}), 'status');
      expectError(await api.admin.put(`/api/admin/apikeys/${'1'.repeat(32)}/status`, { status: 'ACTIVE' }), 404, 'NOT_FOUND');
      expectError(await api.admin.put('/api/admin/apikeys/bad%00id/status', { status: 'ACTIVE' }), 404, 'NOT_FOUND');
    });

    it('DELETE /{id}: deleted once, then 404; the tenant using it gets 401', async () => {
      const t = await createTenant(api);
      expect(expectOk(await api.admin.delete<Env>(`/api/admin/apikeys/${t.keyId}`), 'API Key 删除成功')).to.equal(undefined);
      expectError(await api.admin.delete(`/api/admin/apikeys/${t.keyId}`), 404, 'NOT_FOUND');
      expectError(await t.http.get('/api/health/protected'), 401, 'UNAUTHORIZED');
      expectError(await api.admin.delete('/api/admin/apikeys/zzz'), 404, 'NOT_FOUND');
    });
  });
});
