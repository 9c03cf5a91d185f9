import { expect } from 'chai';
import { startApi, stackNames } from '../stack';
import { createTenant, type TestTenant } from '../tenant';
import { uniqueName } from '../test-env';
import { expectError, expectInstanceDto, expectOk, expectValidation, type Env } from './contract';

interface Dto {
  id: string;
  projectId: string;
  projectName?: string;
  apiIdentifier: string;
  apiType: string;
  businessId: string;
  status: string;
}

/**
 * Contract of `/api/admin/instances/**` (read-only, across projects) on a real api and Postgres.
 * The database is shared by the run, so cross-project lists are checked for this suite's rows.
 */
describe('admin instance routes (/api/admin/instances)', function () {
  this.timeout(30_000);
  let api: Awaited<ReturnType<typeof startApi>>;
  let t1: TestTenant;
  let t2: TestTenant;
  let mine: Dto[];
  let theirs: Dto[];
  let shared: string;

  before(async () => {
    shared = uniqueName('shared');
    api = await startApi(stackNames());
    t1 = await createTenant(api);
    t2 = await createTenant(api);
    mine = expectOk(await t1.http.post<Env<Dto[]>>('/api/instances/batch', {
      instances: [
        { apiIdentifier: 'gpt4o', apiType: 'MODEL', businessId: `${shared}-1` },
        { apiIdentifier: 'gpt4o', apiType: 'MODEL', businessId: `${shared}-2` },
        { apiIdentifier: 'sms', apiType: 'SMS_SERVICE', businessId: shared },
        { apiIdentifier: 'gpt4o', apiType: 'MODEL', businessId: shared },
      ],
    }));
    theirs = expectOk(await t2.http.post<Env<Dto[]>>('/api/instances/batch', {
      instances: [{ apiIdentifier: 'pay', apiType: 'PAYMENT_GATEWAY', businessId: shared }],
    }));
    expectOk(await t1.http.post(`/api/instances/MODEL/${shared}-2/deactivate`));
  });

  after(async () => {
    await api?.close();
  });

  const get = async (path: string) => expectOk(await api.admin.get<Env<Dto[]>>(`/api/admin/instances${path}`));
  const ids = (list: Dto[]) => list.map((d) => d.id);

  it('requires the admin credential', async () => {
    for (const path of ['', '/all', '/with-projects', '/status/ACTIVE', `/${mine[0]!.id}`]) {
      expectError(await api.http.get(`/api/admin/instances${path}`), 401, 'UNAUTHORIZED');
      expectError(await t1.http.get(`/api/admin/instances${path}?projectId=${t1.projectId}`), 401, 'UNAUTHORIZED');
    }
  });

  it('GET /{id}: the DTO of any project; unknown and malformed ids are 404', async () => {
    const data = expectOk(await api.admin.get<Env<Dto>>(`/api/admin/instances/${theirs[0]!.id}`));
    expectInstanceDto(data);
    expect(data).to.deep.equal(theirs[0]);
    expectError(await api.admin.get(`/api/admin/instances/${'a'.repeat(32)}`), 404, 'NOT_FOUND');
    expectError(await api.admin.get('/api/admin/instances/NOT-AN-ID'), 404, 'NOT_FOUND');
  });

  it('GET ?projectId= lists one project, newest first; projectId is required and checked', async () => {
    const list = await get(`?projectId=${t1.projectId}`);
    list.forEach((d) => expectInstanceDto(d));
    expect(ids(list).sort()).to.deep.equal(ids(mine).sort());
    expectValidation(await api.admin.get('/api/admin/instances'), 'projectId');
    expectValidation(await api.admin.get('/api/admin/instances?projectId='), 'projectId');
    expectValidation(await api.admin.get('/api/admin/instances?projectId=xyz'), 'projectId');
    expect(await get(`?projectId=${'0'.repeat(32)}`)).to.deep.equal([]);
  });

  it('GET /business/{businessId}?projectId=&apiType=: one DTO, 409 naming the types when ambiguous, 404 when none', async () => {
    const one = expectOk(await api.admin.get<Env<Dto>>(`/api/admin/instances/business/${shared}-1?projectId=${t1.projectId}`));
    expectInstanceDto(one);
    expect(one.businessId).to.equal(`${shared}-1`);

    const conflict = expectError(await api.admin.get(`/api/admin/instances/business/${shared}?projectId=${t1.projectId}`), 409, 'CONFLICT');
    expect(conflict.message).to.include('MODEL').and.include('SMS_SERVICE');
    const sms = expectOk(await api.admin.get<Env<Dto>>(`/api/admin/instances/business/${shared}?projectId=${t1.projectId}&apiType=SMS_SERVICE`));
    expect(sms.apiType).to.equal('SMS_SERVICE');
    expect(sms.projectId).to.equal(t1.projectId);
    // Empty apiType counts as absent.
    expectError(await api.admin.get(`/api/admin/instances/business/${shared}?projectId=${t1.projectId}&apiType=`), 409, 'CONFLICT');

    expectError(await api.admin.get(`/api/admin/instances/business/${shared}?projectId=${t1.projectId}&apiType=OTHER`), 404, 'NOT_FOUND');
    expectError(await api.admin.get(`/api/admin/instances/business/nothing-here?projectId=${t1.projectId}`), 404, 'NOT_FOUND');
    expectValidation(await api.admin.get(`/api/admin/instances/business/${shared}`), 'projectId');
    expectValidation(await api.admin.get(`/api/admin/instances/business/${shared}?projectId=${t1.projectId}&apiType=model`), 'apiType');
  });

  it('GET /status/{status}: across projects; a bad status is a 400', async () => {
    const inactive = await get('/status/INACTIVE');
    inactive.forEach((d) => {
      expectInstanceDto(d);
      expect(d.status).to.equal('INACTIVE');
    });
    expect(ids(inactive)).to.include(mine.find((d) => d.businessId === `${shared}-2`)!.id);
    const active = ids(await get('/status/ACTIVE'));
    expect(active).to.include(theirs[0]!.id).and.include(mine[0]!.id);
    expectValidation(await api.admin.get('/api/admin/instances/status/FOO'), 'status');
    expectValidation(await api.admin.get('/api/admin/instances/status/active'), 'status');
  });

  it('GET /type/{apiType}?projectId=: one type of one project', async () => {
    const list = await get(`/type/MODEL?projectId=${t1.projectId}`);
    list.forEach((d) => expectInstanceDto(d));
    expect(ids(list).sort()).to.deep.equal(ids(mine.filter((d) => d.apiType === 'MODEL')).sort());
    expect(await get(`/type/PAYMENT_GATEWAY?projectId=${t1.projectId}`)).to.deep.equal([]);
    expectValidation(await api.admin.get(`/api/admin/instances/type/PAYMENT?projectId=${t1.projectId}`), 'apiType');
    expectValidation(await api.admin.get('/api/admin/instances/type/MODEL'), 'projectId');
  });

  it('GET /all: every project\'s instances, with projectName', async () => {
    const res = await api.admin.get<Env<Dto[]>>('/api/admin/instances/all');
    const all = expectOk(res, '获取所有实例成功');
    all.forEach((d) => expectInstanceDto(d, { withProjectName: true }));
    expect(ids(all)).to.include.members([...ids(mine), ...ids(theirs)]);
    expect(all.find((d) => d.id === theirs[0]!.id)!.projectName).to.equal(t2.projectName);
  });

  it('GET /with-projects?projectId=&status=: filters, projectName filled, empty strings ignored', async () => {
    const res = await api.admin.get<Env<Dto[]>>(`/api/admin/instances/with-projects?projectId=${t1.projectId}`);
    const list = expectOk(res, '获取实例列表成功');
    list.forEach((d) => {
      expectInstanceDto(d, { withProjectName: true });
      expect(d.projectName).to.equal(t1.projectName);
    });
    expect(ids(list).sort()).to.deep.equal(ids(mine).sort());

    const inactive = await get(`/with-projects?projectId=${t1.projectId}&status=INACTIVE`);
    expect(inactive.map((d) => d.businessId)).to.deep.equal([`${shared}-2`]);
    const everything = await get('/with-projects?projectId=&status=');
    expect(ids(everything)).to.include.members([...ids(mine), ...ids(theirs)]);
    const activeEverywhere = await get('/with-projects?status=ACTIVE');
    expect(ids(activeEverywhere)).to.include(theirs[0]!.id).and.not.include(inactive[0]!.id);

    expectValidation(await api.admin.get('/api/admin/instances/with-projects?status=GONE'), 'status');
    expectValidation(await api.admin.get('/api/admin/instances/with-projects?projectId=nope'), 'projectId');
  });

  // DELETE and PUT of `/{id}` are the console's admin writes (admin-instance-writes.ts); PATCH is nobody's.
  it('answers 405 for methods a path does not serve', async () => {
    expectError(await api.admin.request('PATCH', `/api/admin/instances/${mine[0]!.id}`, {}), 405, 'METHOD_NOT_ALLOWED');
    expectError(await api.admin.post('/api/admin/instances/all', {}), 405, 'METHOD_NOT_ALLOWED');
  });
});
