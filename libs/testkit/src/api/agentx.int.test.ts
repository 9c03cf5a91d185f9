import http from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { Consumer, Kafka } from 'kafkajs';
import { openProbe, startApi, stackNames, type Probe, type StackNames } from '../stack';
import { uniqueName } from '../test-env';
import { waitFor } from '../wait-for';
import { ID32 } from './contract';
import { rawRequest, type RawResponse } from './raw-http';

/**
 * AgentX replayed as it really calls the gateway (agentx-client.md §1.2, §2): `Content-Type:
 * application/json` with no charset, raw UTF-8 bodies, the `api-key` header on every call, a fresh
 * connection for every call but select, `Content-Length: 0` on activate/deactivate, a DELETE without
 * any content type, a DELETE with a JSON body. Success for AgentX is HTTP status exactly 200.
 */
const KEY = 'default-api-key-1234567890';
const models = {
  m1: randomBytes(16).toString('hex'), // u1 deepseek-chat
  m2: randomBytes(16).toString('hex'), // u1 deepseek-chat
  m3: randomBytes(16).toString('hex'), // u2 gpt-4o
  m4: randomBytes(16).toString('hex'), // u1 gpt-4o (added while the gateway was down)
  m5: randomBytes(16).toString('hex'), // u1 qwen-max (the user's default model: title generation)
  m6: randomBytes(16).toString('hex'), // u1 glm-4 (created by an event)
};
const asModel = (userId: string, apiIdentifier: string, businessId: string) => ({ userId, apiIdentifier, apiType: 'MODEL', businessId });
const STARTUP_BATCH = [
  asModel('u1', 'deepseek-chat', models.m1),
  asModel('u1', 'deepseek-chat', models.m2),
  asModel('u2', 'gpt-4o', models.m3),
  asModel('u1', 'qwen-max', models.m5),
];
const ERROR_MESSAGE = '429 "rate" limited\n上游服务限流，请稍后重试（错误码：速率限制）';

interface AgentXResponse extends RawResponse {
  json: { code?: number; message?: string; data?: Record<string, unknown>; success?: unknown } | undefined;
}

/** Reads every event of the topic from the start until `until` holds. */
async function readEvents(kafka: Kafka, topic: string, until: (events: Record<string, unknown>[]) => boolean): Promise<Record<string, unknown>[]> {
  const consumer: Consumer = kafka.consumer({ groupId: `agentx-reader-${randomUUID()}`, maxWaitTimeInMs: 100 });
  const events: Record<string, unknown>[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void events.push(JSON.parse(message.value?.toString('utf8') ?? 'null') as Record<string, unknown>) });
    await waitFor('the expected events on the topic', () => until(events), { timeoutMs: 20_000 });
    return events;
  } finally {
    await consumer.disconnect();
  }
}

async function topicMessages(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((s, o) => s + Number(o.high), 0);
  } finally {
    await admin.disconnect();
  }
}

describe('AgentX scenario: startup, restart, chat and model events, as captured on the wire', function () {
  this.timeout(60_000);
  let names: StackNames;
  let probe: Probe;
  let api: Awaited<ReturnType<typeof startApi>>;
  /** AgentX's pooled client (HttpClient 4.5 default: 2 connections per route). */
  let pool: http.Agent;
  let projectId = '';
  const session = randomUUID().replace(/-/g, '');

  const headers = (body: boolean): Record<string, string> => ({
    ...(body ? { 'Content-Type': 'application/json' } : {}),
    'api-key': KEY,
    'User-Agent': 'Apache-HttpClient/4.5.14 (Java/17.0.15)',
    'Accept-Encoding': 'gzip,deflate',
  });
  /** Every call but select: a new connection, closed afterwards (AgentX never reads those bodies). */
  const call = async (method: string, path: string, body?: unknown): Promise<AgentXResponse> =>
    (await rawRequest(api.port, { method, path: `/api${path}`, headers: headers(body !== undefined), ...(body !== undefined ? { body: JSON.stringify(body) } : {}) })) as AgentXResponse;
  /** Select goes through the pool, so its connection is reused. */
  const select = async (body: Record<string, unknown>): Promise<AgentXResponse> =>
    (await rawRequest(api.port, { method: 'POST', path: '/api/gateway/select-instance', headers: headers(true), body: JSON.stringify(body) }, pool)) as AgentXResponse;
  /** What AgentX accepts from a select (§2.1): status 200, code 200, `data` an object with routingParams/metadata objects. */
  const accepted = (res: AgentXResponse) => {
    expect(res.status, res.text).to.equal(200);
    expect(res.json?.code).to.equal(200);
    expect(res.json, 'no `success` field that could contradict code').not.to.have.property('success');
    const data = res.json?.data;
    expect(data).to.be.an('object');
    expect(data!['routingParams']).to.be.an('object').and.not.an('array');
    expect(data!['metadata']).to.be.an('object').and.not.an('array');
    expect(data!['id']).to.match(ID32);
    return data as { id: string; businessId: string; [k: string]: unknown };
  };
  const instancesOfProject = async () => {
    const res = await api.admin.get<{ data: { businessId: string; status: string; apiIdentifier: string; userId?: string }[] }>(`/api/admin/instances?projectId=${projectId}`);
    expect(res.status).to.equal(200);
    return res.body.data;
  };

  before(async () => {
    names = stackNames();
    probe = await openProbe(names);
    api = await startApi(names, { seedApiKey: KEY });
    pool = new http.Agent({ keepAlive: true, maxSockets: 2 });
  });

  after(async () => {
    pool?.destroy();
    await api?.close();
    await probe?.close();
  });

  it('startup: links the seeded key to the AgentX project and registers every active model', async () => {
    const body = `{"name":"AgentX","description":"AgentX高可用项目","apiKey":"${KEY}"}`;
    // Raw UTF-8 on the wire: Content-Length counts bytes, not characters.
    expect(Buffer.byteLength(body)).to.be.above(body.length);
    const res = (await rawRequest(api.port, { method: 'POST', path: '/api/projects', headers: headers(true), body })) as AgentXResponse;
    expect(res.status, res.text).to.equal(200);
    expect(res.json?.data).to.include({ name: 'AgentX', description: 'AgentX高可用项目', status: 'ACTIVE' });
    projectId = String(res.json?.data?.['id']);
    expect(projectId).to.match(ID32);

    const batch = await call('POST', '/instances/batch', { instances: STARTUP_BATCH });
    expect(batch.status, batch.text).to.equal(200);
    expect((batch.json?.data as unknown as unknown[]).length).to.equal(STARTUP_BATCH.length);
    expect(await instancesOfProject()).to.have.length(STARTUP_BATCH.length);
  });

  it('restart: the same calls again answer 200, duplicate nothing, and register the model added meanwhile', async () => {
    await api.close();
    api = await startApi(names, { seedApiKey: KEY });
    const project = await call('POST', '/projects', { name: 'AgentX', description: 'AgentX高可用项目', apiKey: KEY });
    expect(project.status, project.text).to.equal(200);
    expect(project.json?.data?.['id']).to.equal(projectId);

    const batch = await call('POST', '/instances/batch', { instances: [...STARTUP_BATCH, asModel('u1', 'gpt-4o', models.m4)] });
    expect(batch.status, batch.text).to.equal(200);
    const created = batch.json?.data as unknown as { businessId: string }[];
    expect(created.map((c) => c.businessId)).to.deep.equal([models.m4]);
    const all = await instancesOfProject();
    expect(all.map((i) => i.businessId).sort()).to.deep.equal([models.m1, models.m2, models.m3, models.m5, models.m4].sort());
  });

  it('chat: select with session affinity and a businessId fallback chain; businessId comes back byte for byte', async () => {
    const request = { userId: 'u1', apiIdentifier: 'deepseek-chat', apiType: 'MODEL', affinityKey: session, affinityType: 'SESSION', fallbackChain: [models.m4, models.m5] };
    const first = accepted(await select(request));
    expect([models.m1, models.m2]).to.include(first.businessId);
    // The same session keeps its instance.
    for (let i = 0; i < 3; i++) expect(accepted(await select(request)).id).to.equal(first.id);

    // Nothing for the requested model: the chain's first entry, matched by businessId (§8.8).
    const fallback = accepted(await select({ userId: 'u1', apiIdentifier: 'claude-3', apiType: 'MODEL', fallbackChain: [models.m4, models.m1] }));
    expect(fallback.businessId).to.equal(models.m4);
    const raw = await select({ userId: 'u1', apiIdentifier: 'claude-3', apiType: 'MODEL', fallbackChain: [models.m4] });
    expect(raw.text).to.contain(`"businessId":"${models.m4}"`);
  });

  it('report: success with instanceId, failure with a raw error message, and no instanceId (4xx, no side effect)', async () => {
    const chosen = accepted(await select({ userId: 'u1', apiIdentifier: 'deepseek-chat', apiType: 'MODEL', affinityKey: session, affinityType: 'SESSION' }));
    // AgentX sends System.currentTimeMillis() of the moment it built the report.
    const t = Date.now();
    const ok = await call('POST', '/gateway/report-result', { instanceId: chosen.id, businessId: chosen.businessId, success: true, latencyMs: 1234, callTimestamp: t });
    expect(ok.status, ok.text).to.equal(200);
    const failed = await call('POST', '/gateway/report-result', { instanceId: chosen.id, businessId: chosen.businessId, success: false, latencyMs: 50, errorMessage: ERROR_MESSAGE, callTimestamp: t + 1 });
    expect(failed.status, failed.text).to.equal(200);

    const before = await topicMessages(probe.kafka, names.topic);
    const noInstance = await call('POST', '/gateway/report-result', { businessId: models.m1, success: false, latencyMs: 50, errorMessage: ERROR_MESSAGE, callTimestamp: t + 2 });
    expect(noInstance.status).to.be.within(400, 499);
    expect(noInstance.json).to.include({ code: noInstance.status, errorCode: 'VALIDATION_FAILED' });
    expect(await topicMessages(probe.kafka, names.topic), 'the report without instanceId produced nothing').to.equal(before);

    // The failure reached the event bus with its message intact (quotes, newline, Chinese).
    const events = await readEvents(probe.kafka, names.topic, (e) => e.some((x) => x['errorMessage'] === ERROR_MESSAGE));
    const event = events.find((x) => x['errorMessage'] === ERROR_MESSAGE)!;
    expect(event).to.include({ instanceId: chosen.id, businessId: chosen.businessId, success: false, latencyMs: 50 });
    expect(events.filter((x) => x['callTimestamp'] === t + 2)).to.deep.equal([]);
  });

  it('title generation: the same session key on another model neither fails nor moves the chat\'s binding', async () => {
    const chat = { userId: 'u1', apiIdentifier: 'deepseek-chat', apiType: 'MODEL', affinityKey: session, affinityType: 'SESSION' };
    const bound = accepted(await select(chat)).id;
    const title = accepted(await select({ userId: 'u1', apiIdentifier: 'qwen-max', apiType: 'MODEL', affinityKey: session, affinityType: 'SESSION' }));
    expect(title.businessId).to.equal(models.m5);
    expect(accepted(await select(chat)).id).to.equal(bound);
  });

  it('userId is a strict filter: another user\'s model is never returned', async () => {
    for (let i = 0; i < 6; i++) {
      expect(accepted(await select({ userId: 'u2', apiIdentifier: 'gpt-4o', apiType: 'MODEL' })).businessId).to.equal(models.m3);
      expect(accepted(await select({ userId: 'u1', apiIdentifier: 'gpt-4o', apiType: 'MODEL' })).businessId).to.equal(models.m4);
    }
    const other = await select({ userId: 'u2', apiIdentifier: 'deepseek-chat', apiType: 'MODEL' });
    expect(other.status).to.not.equal(200);
    // Nor through the fallback chain: u1's businessId is no candidate for u2.
    expect((await select({ userId: 'u2', apiIdentifier: 'claude-3', apiType: 'MODEL', fallbackChain: [models.m1] })).status).to.not.equal(200);
  });

  it('model events: create, PUT keeps the status, deactivate/activate with an empty JSON body, DELETEs', async () => {
    const created = await call('POST', '/instances', asModel('u1', 'glm-4', models.m6));
    expect(created.status, created.text).to.equal(200);

    // deactivate / activate exactly as AgentX sends them: a JSON content type, Content-Length: 0, no body.
    const empty = (action: string, businessId: string) =>
      rawRequest(api.port, { method: 'POST', path: `/api/instances/MODEL/${businessId}/${action}`, headers: { ...headers(true), 'Content-Length': '0' } });
    const off = await empty('deactivate', models.m1);
    expect(off.status, off.text).to.equal(200);
    expect((off.json as { data: { status: string } }).data.status).to.equal('INACTIVE');

    // An edit of the disabled model: PUT {userId, apiIdentifier} must not re-activate it (§8.14).
    const put = await call('PUT', `/instances/MODEL/${models.m1}`, { userId: 'u1', apiIdentifier: 'deepseek-v3' });
    expect(put.status, put.text).to.equal(200);
    expect(put.json?.data).to.include({ apiIdentifier: 'deepseek-v3', status: 'INACTIVE', businessId: models.m1 });
    expect((await select({ userId: 'u1', apiIdentifier: 'deepseek-v3', apiType: 'MODEL' })).status).to.not.equal(200);

    const on = await empty('activate', models.m1);
    expect(on.status, on.text).to.equal(200);
    expect(accepted(await select({ userId: 'u1', apiIdentifier: 'deepseek-v3', apiType: 'MODEL' })).businessId).to.equal(models.m1);

    // Single DELETE: no Content-Type, no Content-Length, no body.
    const single = await rawRequest(api.port, { method: 'DELETE', path: `/api/instances/MODEL/${models.m6}`, headers: headers(false) });
    expect(single.status, single.text).to.equal(200);

    // Batch DELETE (a provider deleted with its models): a JSON body on a DELETE.
    const batch = await call('DELETE', '/instances/batch', { instances: [{ apiType: 'MODEL', businessId: models.m2 }, { apiType: 'MODEL', businessId: models.m4 }] });
    expect(batch.status, batch.text).to.equal(200);
    expect(batch.json?.data).to.equal(2);
    expect((await instancesOfProject()).map((i) => i.businessId).sort()).to.deep.equal([models.m1, models.m3, models.m5].sort());
  });

  it('keep-alive: a pooled connection idle for 3 s is reused and still answers', async () => {
    const request = { userId: 'u1', apiIdentifier: 'deepseek-v3', apiType: 'MODEL', affinityKey: uniqueName('s'), affinityType: 'SESSION' };
    const first = await select(request);
    accepted(first);
    await new Promise((r) => setTimeout(r, 3000));
    const second = await select(request);
    accepted(second);
    expect(second.reusedSocket, 'the second select reused the pooled socket').to.equal(true);
    expect(second.localPort).to.equal(first.localPort);
  });
});
