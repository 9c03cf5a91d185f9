import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { RedisKeys, type Kafka } from '@apg/platform';
import type { HttpClient, HttpResult } from '../http-client';
import { ADMIN_TOKEN, openProbe, startApi, stackNames, type Probe, type StackNames } from '../stack';
import { createTenant, type TestTenant } from '../tenant';
import { waitFor } from '../wait-for';
import { expectError, expectOk, type Env } from './contract';
import { fetchOpenApi, operationsOf, type DocumentedOperation } from './openapi-walk';

/**
 * Tenant isolation on every tenant-authenticated route: tenant A naming tenant B's instance ids,
 * businessIds, fallback entries, excluded ids or selection ids gets exactly what it gets for ids that do
 * not exist, and nothing of B changes — its instances, breaker records, in-flight counts, selection
 * leases and affinity binding are compared before and after every probe; a report naming B's instance
 * produces no event (the topic's offsets do not move). Credentials never cross: a tenant key is not an
 * admin credential and the admin token is not an API key.
 */

interface Inst {
  id: string;
  businessId: string;
  apiIdentifier: string;
}

type Res = HttpResult<Env<Record<string, unknown>>>;

/** `data` of a success (asserting the envelope). */
const dataOf = <T>(res: Res): T => expectOk<T>(res as unknown as HttpResult<Env<T>>);

const hex32 = () => randomBytes(16).toString('hex');
const unknownName = (base: string) => `${base}-${randomBytes(4).toString('hex')}`;

async function topicMessages(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((s, o) => s + Number(o.high), 0);
  } finally {
    await admin.disconnect();
  }
}

/** The same answer, up to the ids in the message: status, errorCode, field errors, and `data` when given. */
function expectSameAnswer(withOther: Res, withUnknown: Res, what: string): void {
  const strip = (r: Res) => ({
    status: r.status,
    code: r.body.code,
    errorCode: r.body.errorCode,
    errors: r.body.errors?.map((e) => e.field),
  });
  expect(strip(withOther), `${what}: ${withOther.text} vs ${withUnknown.text}`).to.deep.equal(strip(withUnknown));
}

describe('api: tenant isolation probes on every tenant route', function () {
  this.timeout(30_000);
  let names: StackNames;
  let keys: RedisKeys;
  let api: Awaited<ReturnType<typeof startApi>>;
  let probe: Probe;
  let a: TestTenant;
  let b: TestTenant;
  const A = {} as { shared: Inst; same: Inst };
  const B = {} as { shared: Inst; same: Inst; forced: Inst };
  let bSelectionId = '';
  let bAffinityKey = '';
  let tenantOps: DocumentedOperation[] = [];
  let adminOps: DocumentedOperation[] = [];
  const probed = new Set<string>();

  const register = async (t: TestTenant, body: Record<string, unknown>): Promise<Inst> => {
    const created = expectOk<Inst>(await t.http.post<Env<Inst>>('/api/instances', { apiType: 'MODEL', ...body }));
    return { id: created.id, businessId: created.businessId, apiIdentifier: created.apiIdentifier };
  };
  const select = (t: TestTenant, body: Record<string, unknown>) =>
    t.http.post<Env<Record<string, unknown>>>('/api/gateway/select-instance', { apiType: 'MODEL', ...body });

  /** Everything of B that A could touch. */
  async function snapshotB() {
    const r = probe.redis;
    const instances = expectOk<Record<string, unknown>[]>(await api.admin.get<Env<Record<string, unknown>[]>>(`/api/admin/instances?projectId=${b.projectId}`));
    const ids = Object.values(B).map((i) => i.id);
    return {
      instances: instances.sort((x, y) => String(x['id']).localeCompare(String(y['id']))),
      breaker: await Promise.all(ids.map((id) => r.hget(keys.breakerStates(), id))),
      inflight: await Promise.all(ids.map((id) => r.get(keys.inflight(id)))),
      lease: await r.hget(keys.leases(), bSelectionId),
      leaseExpiry: await r.zscore(keys.leaseExpiries(), bSelectionId),
      affinity: await r.get(bAffinityKey),
      protected: (await b.http.get('/api/health/protected')).status,
    };
  }

  /** Runs a probe of one route and proves B is exactly as before. */
  async function probeRoute(route: string, body: () => Promise<void>): Promise<void> {
    probed.add(route);
    const before = await snapshotB();
    await body();
    expect(await snapshotB(), `${route}: B changed`).to.deep.equal(before);
  }

  before(async () => {
    names = stackNames();
    keys = new RedisKeys(names.redisPrefix);
    probe = await openProbe(names);
    api = await startApi(names);
    [a, b] = await Promise.all([createTenant(api), createTenant(api)]);
    A.shared = await register(a, { apiIdentifier: 'shared-model', businessId: 'a-biz-1', userId: 'u1' });
    A.same = await register(a, { apiIdentifier: 'a-model', businessId: 'same-biz', metadata: { owner: 'A' } });
    B.shared = await register(b, { apiIdentifier: 'shared-model', businessId: 'b-biz-1', userId: 'u1', routingParams: { priority: 9 } });
    B.same = await register(b, { apiIdentifier: 'b-only-model', businessId: 'same-biz', metadata: { owner: 'B' } });
    B.forced = await register(b, { apiIdentifier: 'b-forced', businessId: 'b-biz-3' });
    expectOk(await api.admin.post(`/api/admin/instances/${B.forced.id}/breaker`, { mode: 'FORCED_OPEN' }));
    // An open selection lease and an affinity binding of B's, which A must not be able to settle or move.
    const chosen = expectOk<{ id: string; selectionId: string }>(await select(b, { apiIdentifier: 'shared-model', userId: 'u1', affinityKey: 'sess-1', affinityType: 'SESSION' }) as HttpResult<Env<{ id: string; selectionId: string }>>);
    expect(chosen.id).to.equal(B.shared.id);
    bSelectionId = chosen.selectionId;
    bAffinityKey = keys.affinity(b.projectId, 'MODEL', 'shared-model', 'SESSION', 'sess-1');
    await waitFor('B\'s lease and binding to be recorded', async () => (await probe.redis.hexists(keys.leases(), bSelectionId)) === 1 && (await probe.redis.get(bAffinityKey)) === B.shared.id);
    const ops = operationsOf(await fetchOpenApi(api.http));
    tenantOps = ops.filter((o) => o.auth === 'apiKey');
    adminOps = ops.filter((o) => o.auth === 'admin');
  });

  after(async () => {
    await api?.close();
    await probe?.close();
  });

  it('select-instance: B\'s identifiers, businessIds, fallback entries, exclusions and session are invisible to A', async () => {
    await probeRoute('post /api/gateway/select-instance', async () => {
      for (const [other, unknown] of [
        ['b-only-model', unknownName('model')],
        ['b-biz-1', unknownName('biz')],
        ['b-forced', unknownName('model')],
        ['b-biz-3', unknownName('biz')],
      ] as const) {
        const res = await select(a, { apiIdentifier: other });
        expectError(res, 404, 'NO_AVAILABLE_INSTANCE');
        expectSameAnswer(res, await select(a, { apiIdentifier: unknown }), `select ${other}`);
        expectSameAnswer(await select(a, { apiIdentifier: other, userId: 'u1' }), await select(a, { apiIdentifier: unknown, userId: 'u1' }), `select ${other} as u1`);
      }
      // B's entries in a fallback chain match nothing.
      const chain = ['b-biz-1', 'b-only-model', 'b-biz-3', 'same-biz-of-nobody'];
      expectSameAnswer(
        await select(a, { apiIdentifier: unknownName('nope'), fallbackChain: chain }),
        await select(a, { apiIdentifier: unknownName('nope'), fallbackChain: chain.map(() => unknownName('u')) }),
        'fallback chain of B\'s entries',
      );
      // The shared identifier only ever resolves to A's instance, whatever the session or exclusions say.
      for (let i = 0; i < 5; i++) {
        const mine = dataOf<{ id: string; projectId: string }>(await select(a, { apiIdentifier: 'shared-model', userId: 'u1', affinityKey: 'sess-1', affinityType: 'SESSION' }));
        expect(mine).to.include({ id: A.shared.id, projectId: a.projectId });
      }
      const chain2 = await select(a, { apiIdentifier: 'shared-model', fallbackChain: ['b-biz-1'], excludeInstanceIds: [B.shared.id, B.same.id] });
      expect(dataOf<{ id: string }>(chain2).id).to.equal(A.shared.id);
      expectSameAnswer(
        await select(a, { apiIdentifier: 'shared-model', excludeInstanceIds: [A.shared.id, B.shared.id], fallbackChain: ['b-biz-1'] }),
        await select(a, { apiIdentifier: 'shared-model', excludeInstanceIds: [A.shared.id, hex32()], fallbackChain: [unknownName('u')] }),
        'excluding A\'s own instance leaves nothing, B\'s is no fallback',
      );
    });
  });

  it('report-result: B\'s instance is a 404 with no event; B\'s selection id settles nothing of B\'s', async () => {
    await probeRoute('post /api/gateway/report-result', async () => {
      const before = await topicMessages(probe.kafka, names.topic);
      const report = (instanceId: string, extra: Record<string, unknown> = {}) =>
        a.http.post<Env<Record<string, unknown>>>('/api/gateway/report-result', { instanceId, businessId: 'b-biz-1', success: false, latencyMs: 50, errorMessage: 'poison', ...extra });
      const res = await report(B.shared.id);
      expectError(res, 404, 'NOT_FOUND');
      expectSameAnswer(res, await report(hex32()), 'report on B\'s instance');
      expectSameAnswer(await report(B.shared.id, { selectionId: bSelectionId }), await report(hex32(), { selectionId: hex32() }), 'report on B\'s instance and selection');
      expectSameAnswer(await report(B.forced.id, { success: true }), await report(hex32(), { success: true }), 'report on B\'s forced instance');
      expect(await topicMessages(probe.kafka, names.topic), 'no event was produced').to.equal(before);

      // A's own instance with B's selection id: accepted for A (one event), B's lease left open.
      expectSameAnswer(
        await report(A.shared.id, { selectionId: bSelectionId, businessId: 'a-biz-1', success: true }),
        await report(A.shared.id, { selectionId: hex32(), businessId: 'a-biz-1', success: true }),
        'A\'s report quoting B\'s selection id',
      );
      expect(await topicMessages(probe.kafka, names.topic), 'exactly A\'s two own reports were produced').to.equal(before + 2);
    });
  });

  it('POST /instances: registering B\'s businessId creates A\'s own instance, as for a new id', async () => {
    await probeRoute('post /api/instances', async () => {
      const res = await a.http.post<Env<Inst & { projectId: string }>>('/api/instances', { apiIdentifier: 'b-only-model', apiType: 'MODEL', businessId: 'b-biz-3' });
      const created = expectOk<Inst & { projectId: string }>(res, 'API实例创建成功');
      expect(created.projectId).to.equal(a.projectId);
      expect(created.id).not.to.be.oneOf(Object.values(B).map((i) => i.id));
      expectOk(await a.http.delete('/api/instances/MODEL/b-biz-3'));
    });
  });

  it('POST /instances/batch: B\'s businessIds are created for A, as new ids are', async () => {
    await probeRoute('post /api/instances/batch', async () => {
      const items = ['b-biz-1', 'b-biz-3'].map((businessId) => ({ apiIdentifier: 'x-model', apiType: 'MODEL', businessId }));
      const created = expectOk<{ projectId: string; businessId: string }[]>(await a.http.post<Env<{ projectId: string; businessId: string }[]>>('/api/instances/batch', { instances: items }));
      expect(created.map((c) => [c.projectId, c.businessId])).to.deep.equal([[a.projectId, 'b-biz-1'], [a.projectId, 'b-biz-3']]);
      expect(expectOk<number>(await a.http.delete<Env<number>>('/api/instances/batch', { instances: items.map(({ apiType, businessId }) => ({ apiType, businessId })) }))).to.equal(2);
    });
  });

  it('DELETE /instances/batch: B\'s keys delete nothing', async () => {
    await probeRoute('delete /api/instances/batch', async () => {
      const of = (ids: string[]) => ({ instances: ids.map((businessId) => ({ apiType: 'MODEL', businessId })) });
      const res = await a.http.delete<Env<number>>('/api/instances/batch', of(['b-biz-1', 'b-biz-3']));
      expect(expectOk<number>(res)).to.equal(0);
      expect(expectOk<number>(await a.http.delete<Env<number>>('/api/instances/batch', of([unknownName('u'), unknownName('v')])))).to.equal(0);
    });
  });

  it('PUT /instances/{apiType}/{businessId}: B\'s businessId is a 404; a businessId both have changes only A\'s', async () => {
    await probeRoute('put /api/instances/{apiType}/{businessId}', async () => {
      const put = (businessId: string) => a.http.put<Env<Record<string, unknown>>>(`/api/instances/MODEL/${businessId}`, { apiIdentifier: 'hijacked', metadata: { owner: 'A!' } });
      expectError(await put('b-biz-1'), 404, 'NOT_FOUND');
      expectSameAnswer(await put('b-biz-1'), await put(unknownName('u')), 'PUT B\'s businessId');
      const mine = dataOf<{ id: string; projectId: string }>(await put('same-biz'));
      expect(mine).to.include({ id: A.same.id, projectId: a.projectId });
    });
  });

  it('DELETE /instances/{apiType}/{businessId}: B\'s businessId is a 404', async () => {
    await probeRoute('delete /api/instances/{apiType}/{businessId}', async () => {
      const res = await a.http.delete('/api/instances/MODEL/b-biz-1');
      expectError(res, 404, 'NOT_FOUND');
      expectSameAnswer(res as unknown as Res, (await a.http.delete(`/api/instances/MODEL/${unknownName('u')}`)) as unknown as Res, 'DELETE B\'s businessId');
    });
  });

  for (const action of ['activate', 'deactivate', 'deprecate']) {
    it(`POST /instances/{apiType}/{businessId}/${action}: B's businessId is a 404; a shared businessId changes only A's`, async () => {
      await probeRoute(`post /api/instances/{apiType}/{businessId}/${action}`, async () => {
        const res = await a.http.post(`/api/instances/MODEL/b-biz-3/${action}`);
        expectError(res, 404, 'NOT_FOUND');
        expectSameAnswer(res as unknown as Res, (await a.http.post(`/api/instances/MODEL/${unknownName('u')}/${action}`)) as unknown as Res, `${action} B's businessId`);
        expect(expectOk<{ id: string }>(await a.http.post<Env<{ id: string }>>(`/api/instances/MODEL/same-biz/${action}`)).id).to.equal(A.same.id);
        expectOk(await a.http.post('/api/instances/MODEL/same-biz/activate'));
      });
    });
  }

  it('GET /health/protected: answers for the caller\'s own key only, naming nothing of another tenant', async () => {
    await probeRoute('get /api/health/protected', async () => {
      const mine = expectOk<Record<string, unknown>>(await a.http.get<Env<Record<string, unknown>>>('/api/health/protected'));
      expect(JSON.stringify(mine)).not.to.contain(b.projectId);
    });
  });

  it('a tenant key is not an admin credential and the admin token is not an API key', async () => {
    const fill = (path: string) => path.replace(/\{apiType\}/g, 'MODEL').replace(/\{projectId\}/g, b.projectId).replace(/\{id\}/g, B.shared.id).replace(/\{[^{}]+\}/g, 'x');
    const as = (client: HttpClient, op: DocumentedOperation) => client.request(op.method.toUpperCase(), `${fill(op.path)}${op.path.includes('validate') ? `?apiKey=${a.apiKey}` : ''}`, op.method === 'get' ? undefined : {});
    for (const op of adminOps) {
      for (const client of [a.http, api.http.with({ authorization: `Bearer ${a.apiKey}` }), api.http.with({ 'api-key': ADMIN_TOKEN })]) {
        expectError(await as(client, op), 401, 'UNAUTHORIZED');
      }
    }
    for (const op of tenantOps) {
      for (const client of [api.http.with({ 'api-key': ADMIN_TOKEN }), api.admin, api.http.with({ 'api-key': `Bearer ${ADMIN_TOKEN}` })]) {
        expectError(await as(client, op), 401, 'UNAUTHORIZED');
      }
    }
    // Nothing of B's was touched by all of that.
    expect(expectOk<unknown[]>(await api.admin.get<Env<unknown[]>>(`/api/admin/instances?projectId=${b.projectId}`))).to.have.length(Object.keys(B).length);
  });

  it('probed every tenant-authenticated route of the document', () => {
    expect(tenantOps.length).to.be.above(5);
    expect(tenantOps.map((o) => `${o.method} ${o.path}`).sort()).to.deep.equal([...probed].sort());
  });
});
