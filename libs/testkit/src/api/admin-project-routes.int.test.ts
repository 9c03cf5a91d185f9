import { expect } from 'chai';
import { startApi, stackNames } from '../stack';
import { createTenant, type TestTenant } from '../tenant';
import { uniqueName } from '../test-env';
import { expectApiKeyDto, expectError, expectOk, expectProjectDto, expectValidation, type Env } from './contract';

interface ProjectDto {
  id: string;
  name: string;
  description?: string;
  apiKeyPrefix?: string;
  status: string;
  createdAt: string;
  updatedAt: string;
}

interface Stats {
  projects: { total: number; byStatus: Record<string, number> };
  instances: { total: number; byStatus: Record<string, number> };
  apiKeys: { total: number; byStatus: Record<string, number> };
}

/**
 * Contract of `/api/admin/projects/**` on a real api and Postgres. The database is shared by the
 * whole run, so lists are checked for what this suite created, and statistics by their deltas.
 */
describe('admin project routes (/api/admin/projects)', function () {
  this.timeout(30_000);
  let api: Awaited<ReturnType<typeof startApi>>;
  let t1: TestTenant;
  let t2: TestTenant;
  let tag: string;

  before(async () => {
    tag = uniqueName('proj').replace(/[^a-z0-9]/gi, '');
    api = await startApi(stackNames());
    t1 = await createTenant(api, `${tag}-Alpha`);
    t2 = await createTenant(api, `${tag}-beta_%`);
  });

  after(async () => {
    await api?.close();
  });

  const list = async (path: string) => expectOk(await api.admin.get<Env<ProjectDto[]>>(path));

  it('requires the admin credential on every route', async () => {
    for (const path of ['', '/search?projectName=a', '/statistics', '/simple', '/status/ACTIVE', `/${t1.projectId}`]) {
      expectError(await api.http.get(`/api/admin/projects${path}`), 401, 'UNAUTHORIZED');
      expectError(await t1.http.get(`/api/admin/projects${path}`, { authorization: `Bearer ${t1.apiKey}` }), 401, 'UNAUTHORIZED');
    }
    expectError(await api.http.delete(`/api/admin/projects/${t1.projectId}`), 401, 'UNAUTHORIZED');
    expectError(await api.http.put(`/api/admin/projects/${t1.projectId}/status`, { status: 'INACTIVE' }), 401, 'UNAUTHORIZED');
  });

  it('GET / lists every project, newest first, with a key prefix and never the key', async () => {
    const res = await api.admin.get<Env<ProjectDto[]>>('/api/admin/projects');
    const data = expectOk(res, '项目列表查询成功');
    data.forEach((p) => expectProjectDto(p));
    const ids = data.map((p) => p.id);
    expect(ids.indexOf(t2.projectId)).to.be.within(0, ids.indexOf(t1.projectId) - 1);
    const mine = data.find((p) => p.id === t1.projectId)!;
    expect(t1.apiKey.startsWith(mine.apiKeyPrefix!)).to.equal(true);
    expect(res.text).not.to.include(t1.apiKey);
    const sorted = [...data].sort((x, y) => y.createdAt.localeCompare(x.createdAt));
    expect(data.map((p) => p.createdAt)).to.deep.equal(sorted.map((p) => p.createdAt));
  });

  it('GET /{projectId} returns the DTO; unknown or malformed ids are 404', async () => {
    const data = expectOk(await api.admin.get<Env<ProjectDto>>(`/api/admin/projects/${t1.projectId}`), '项目详情查询成功');
    expectProjectDto(data);
    expect(data).to.include({ id: t1.projectId, name: t1.projectName, description: `project ${t1.projectName}`, status: 'ACTIVE' });
    expectError(await api.admin.get(`/api/admin/projects/${'0'.repeat(32)}`), 404, 'NOT_FOUND');
    expectError(await api.admin.get('/api/admin/projects/not-an-id'), 404, 'NOT_FOUND');
    expectError(await api.admin.get('/api/admin/projects/%00'), 404, 'NOT_FOUND');
  });

  it('GET /search?projectName= matches a case-insensitive substring; LIKE wildcards match themselves', async () => {
    const found = expectOk(await api.admin.get<Env<ProjectDto[]>>(`/api/admin/projects/search?projectName=${tag.toUpperCase()}`), '项目搜索成功');
    found.forEach((p) => expectProjectDto(p));
    expect(found.map((p) => p.id).sort()).to.deep.equal([t1.projectId, t2.projectId].sort());
    expect((await list(`/api/admin/projects/search?projectName=${encodeURIComponent(`${tag}-alpha`)}`)).map((p) => p.id)).to.deep.equal([t1.projectId]);
    // `_%` are literal characters here, not patterns.
    expect((await list(`/api/admin/projects/search?projectName=${encodeURIComponent('beta_%')}`)).map((p) => p.id)).to.include(t2.projectId);
    expect(await list(`/api/admin/projects/search?projectName=${encodeURIComponent(`${tag}%beta`)}`)).to.deep.equal([]);
  });

  it('GET /search without projectName is a 400', async () => {
    expectValidation(await api.admin.get('/api/admin/projects/search'), 'projectName');
    expectValidation(await api.admin.get('/api/admin/projects/search?projectName='), 'projectName');
    expectValidation(await api.admin.get('/api/admin/projects/search?projectName=a&projectName=b'), 'projectName');
  });

  it('GET /status/{status} filters; an unknown status is a 400', async () => {
    const active = expectOk(await api.admin.get<Env<ProjectDto[]>>('/api/admin/projects/status/ACTIVE'), '项目状态查询成功');
    active.forEach((p) => {
      expectProjectDto(p);
      expect(p.status).to.equal('ACTIVE');
    });
    expect(active.map((p) => p.id)).to.include(t1.projectId);
    expect((await list('/api/admin/projects/status/INACTIVE')).map((p) => p.id)).not.to.include(t1.projectId);
    expectValidation(await api.admin.get('/api/admin/projects/status/active'), 'status');
    expectValidation(await api.admin.get('/api/admin/projects/status/DELETED'), 'status');
  });

  it('GET /simple lists {id, name} only', async () => {
    const data = expectOk(await api.admin.get<Env<{ id: string; name: string }[]>>('/api/admin/projects/simple'));
    for (const p of data) expect(Object.keys(p).sort()).to.deep.equal(['id', 'name']);
    expect(data).to.deep.include({ id: t1.projectId, name: t1.projectName });
  });

  it('GET /statistics counts projects, instances and keys by status from real data', async () => {
    const get = async () => expectOk(await api.admin.get<Env<Stats>>('/api/admin/projects/statistics'), '项目统计信息查询成功');
    const before = await get();
    expect(Object.keys(before.projects.byStatus).sort()).to.deep.equal(['ACTIVE', 'INACTIVE']);
    expect(Object.keys(before.instances.byStatus).sort()).to.deep.equal(['ACTIVE', 'DEPRECATED', 'INACTIVE']);
    expect(Object.keys(before.apiKeys.byStatus).sort()).to.deep.equal(['ACTIVE', 'EXPIRED', 'REVOKED', 'UNUSED']);
    for (const part of [before.projects, before.instances, before.apiKeys]) {
      expect(part.total).to.equal(Object.values(part.byStatus).reduce((s, n) => s + n, 0));
    }

    const t3 = await createTenant(api);
    expectOk(await t3.http.post('/api/instances/batch', {
      instances: ['a', 'b'].map((s) => ({ apiIdentifier: 'x', apiType: 'OTHER', businessId: `${tag}-${s}` })),
    }));
    expectOk(await t3.http.post(`/api/instances/OTHER/${tag}-b/deprecate`));
    const unused = expectOk(await api.admin.post<Env<{ id: string }>>('/api/admin/apikeys', { expiresAt: '2001-01-01 00:00:00' }));
    const after = await get();
    expect(after.projects.byStatus['ACTIVE']! - before.projects.byStatus['ACTIVE']!).to.equal(1);
    expect(after.instances.byStatus['ACTIVE']! - before.instances.byStatus['ACTIVE']!).to.equal(1);
    expect(after.instances.byStatus['DEPRECATED']! - before.instances.byStatus['DEPRECATED']!).to.equal(1);
    expect(after.apiKeys.byStatus['ACTIVE']! - before.apiKeys.byStatus['ACTIVE']!).to.equal(1);
    // A key past its expiry counts as EXPIRED whatever its stored status.
    expect(after.apiKeys.byStatus['EXPIRED']! - before.apiKeys.byStatus['EXPIRED']!).to.equal(1);
    expect(unused.id).to.match(/^[0-9a-f]{32}$/);
  });

  it('PUT /{projectId}/status switches ACTIVE/INACTIVE and validates', async () => {
    const t = await createTenant(api);
    const res = await api.admin.put<Env<ProjectDto>>(`/api/admin/projects/${t.projectId}/status`, { status: 'INACTIVE' });
    const data = expectOk(res, '项目状态修改成功');
    expectProjectDto(data);
    expect(data.status).to.equal('INACTIVE');
    expect(Date.parse(data.updatedAt)).to.be.at.least(Date.parse(data.createdAt));
    expect((await list('/api/admin/projects/status/INACTIVE')).map((p) => p.id)).to.include(t.projectId);
    expect(expectOk(await api.admin.put<Env<ProjectDto>>(`/api/admin/projects/${t.projectId}/status`, { status: 'ACTIVE' })).status).to.equal('ACTIVE');

    expectValidation(await api.admin.put(`/api/admin/projects/${t.projectId}/status`, { status: 'PAUSED' }), 'status');
    expectValidation(await api.admin.put(`/api/admin/projects/${t.projectId}/status`, {}), 'status');
    expectError(await api.admin.put(`/api/admin/projects/${'f'.repeat(32)}/status`, { status: 'ACTIVE' }), 404, 'NOT_FOUND');
  });

  it('DELETE /{projectId} removes the project and its instances and revokes its key; then 404', async () => {
    const t = await createTenant(api);
    const created = expectOk(await t.http.post<Env<{ id: string }[]>>('/api/instances/batch', {
      instances: ['a', 'b'].map((s) => ({ apiIdentifier: 'gpt4o', apiType: 'MODEL', businessId: `${tag}-${s}` })),
    }));
    expect(expectOk(await api.admin.delete<Env>(`/api/admin/projects/${t.projectId}`), '项目删除成功')).to.equal(undefined);

    expectError(await api.admin.get(`/api/admin/projects/${t.projectId}`), 404, 'NOT_FOUND');
    for (const i of created) expectError(await api.admin.get(`/api/admin/instances/${i.id}`), 404, 'NOT_FOUND');
    const key = expectOk(await api.admin.get<Env<{ status: string }>>(`/api/admin/apikeys/${t.keyId}`));
    expectApiKeyDto(key);
    expect(key.status).to.equal('REVOKED');
    expectError(await t.http.post('/api/instances', { apiIdentifier: 'x', apiType: 'MODEL', businessId: 'y' }), 401, 'UNAUTHORIZED');
    expectError(await api.admin.delete(`/api/admin/projects/${t.projectId}`), 404, 'NOT_FOUND');
    expectError(await api.admin.delete('/api/admin/projects/xyz'), 404, 'NOT_FOUND');
  });
});
