import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { Consumer, Producer } from 'kafkajs';
import { CALL_RESULT_SCHEMA_VERSION, encodeCallResultEvent, type CallResultEvent } from '@apg/contracts';
import { signedByKey, signedByService } from '../signing';
import { openProbe, startAggregator, startApi, startIngestor, stackNames, type Probe, type StackNames } from '../stack';
import { waitFor } from '../wait-for';
import type { HttpClient } from '../http-client';

interface Dto {
  id: string;
  projectId: string;
  businessId: string;
  apiIdentifier: string;
}

/**
 * The walking skeleton end to end, on the real Kafka, Postgres and Redis: register, select, report
 * failures over HTTP and straight to Kafka, and watch the breakers, the raw rows and the DLQ.
 */
describe('pipeline end to end (real Kafka, Postgres, Redis)', function () {
  this.timeout(120_000);
  let names: StackNames;
  let probe: Probe;
  let api: Awaited<ReturnType<typeof startApi>>;
  let ingestor: Awaited<ReturnType<typeof startIngestor>>;
  let aggregator: Awaited<ReturnType<typeof startAggregator>>;
  let producer: Producer;
  let tenant: HttpClient;
  let apiKey: string;
  let projectId: string;
  let instances: Dto[] = [];
  const directEventIds: string[] = [];

  const event = (i: Dto, success: boolean, over: Partial<CallResultEvent> = {}): CallResultEvent => ({
    eventId: randomUUID(),
    schemaVersion: CALL_RESULT_SCHEMA_VERSION,
    projectId: i.projectId,
    instanceId: i.id,
    apiIdentifier: i.apiIdentifier,
    apiType: 'MODEL',
    businessId: i.businessId,
    success,
    latencyMs: 120,
    callTimestamp: Date.now(),
    ...over,
  });

  const countRows = async (): Promise<{ rows: number; distinct: number; rollup: number }> => {
    const { rows } = await probe.db.query<{ rows: number; distinct: number; rollup: number }>(
      'test.count',
      `SELECT (SELECT count(*) FROM call_results WHERE project_id = $1)::int AS rows,
              (SELECT count(DISTINCT event_id) FROM call_results WHERE project_id = $1)::int AS distinct,
              (SELECT coalesce(sum(calls), 0) FROM call_rollups_minute WHERE project_id = $1)::int AS rollup`,
      [projectId],
    );
    return rows[0]!;
  };

  const selectIds = async (n: number): Promise<Set<string>> => {
    const seen = new Set<string>();
    for (let k = 0; k < n; k++) {
      // Round robin makes "every instance is served" deterministic (SMART is weighted-random).
      const res = await tenant.post<{ code: number; data: Dto }>('/api/gateway/select-instance', { apiIdentifier: 'gpt4o', apiType: 'MODEL', strategy: 'ROUND_ROBIN' });
      expect(res.status).to.equal(200);
      seen.add(res.body.data.id);
    }
    return seen;
  };

  before(async () => {
    names = stackNames();
    probe = await openProbe(names);
    api = await startApi(names);
    ingestor = await startIngestor(names);
    aggregator = await startAggregator(names);
    producer = probe.kafka.producer();
    await producer.connect();
  });

  after(async () => {
    await producer?.disconnect();
    await aggregator?.close();
    await ingestor?.close();
    await api?.close();
    const admin = probe.kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [names.topic, names.dlqTopic] }).catch(() => undefined);
    await admin.disconnect();
    await probe?.close();
  });

  it('creates a key, links a project idempotently and registers three instances', async () => {
    const key = await api.admin.post<{ data: { apiKeyValue: string; id: string } }>('/api/admin/apikeys', { description: 'e2e' });
    expect(key.status).to.equal(200);
    apiKey = key.body.data.apiKeyValue;
    expect(apiKey).to.match(/^gw_[A-Za-z0-9]{32}$/);
    tenant = api.http.with({ 'api-key': apiKey });

    const p1 = await tenant.post<{ data: { id: string } }>('/api/projects', { name: 'e2e', apiKey });
    const p2 = await tenant.post<{ data: { id: string } }>('/api/projects', { name: 'e2e again', apiKey });
    expect(p1.status).to.equal(200);
    expect(p2.body.data.id).to.equal(p1.body.data.id);
    projectId = p1.body.data.id;
    expect(projectId).to.match(/^[0-9a-f]{32}$/);

    const batch = { instances: ['a', 'b', 'c'].map((s) => ({ apiIdentifier: 'gpt4o', apiType: 'MODEL', businessId: `gpt4o-${s}`, metadata: { provider: s } })) };
    const created = await tenant.post<{ data: Dto[] }>('/api/instances/batch', batch);
    expect(created.status).to.equal(200);
    expect(created.body.data).to.have.length(3);
    const again = await tenant.post<{ data: Dto[] }>('/api/instances/batch', batch);
    expect(again.status).to.equal(200);
    expect(again.body.data).to.have.length(0);
    instances = created.body.data;

    expect(await selectIds(6)).to.have.property('size', 3);
  });

  it('skips an instance failed over HTTP and one failed straight through Kafka', async () => {
    const [viaHttp, viaKafka, healthy] = instances as [Dto, Dto, Dto];
    for (let k = 0; k < 20; k++) {
      const res = await tenant.post('/api/gateway/report-result', {
        instanceId: viaHttp.id, businessId: viaHttp.businessId, success: false, latencyMs: 50, callTimestamp: Date.now(), errorMessage: '429 "rate" limited\n',
      });
      expect(res.status, res.text).to.equal(200);
    }
    const direct = Array.from({ length: 20 }, () => event(viaKafka, false));
    directEventIds.push(...direct.map((e) => e.eventId));
    // Signed with the tenant's own key, as a publisher outside the gateway signs (README "Publishing results to Kafka").
    await producer.send({ topic: names.topic, acks: -1, messages: direct.map((e) => signedByKey({ key: e.instanceId, value: encodeCallResultEvent(e) }, apiKey)) });

    await waitFor('both failing instances skipped', async () => {
      const seen = await selectIds(9);
      return seen.size === 1 && seen.has(healthy.id);
    }, { timeoutMs: 10_000 });
    const states = await probe.redis.hgetall(`${names.redisPrefix}breaker-states`);
    expect(JSON.parse(states[viaHttp.id]!).state).to.equal('OPEN');
    expect(JSON.parse(states[viaKafka.id]!).state).to.equal('OPEN');
    const { rows } = await probe.db.query<{ n: number }>('test.transitions', `SELECT count(*)::int AS n FROM breaker_transitions WHERE project_id = $1 AND to_state = 'OPEN'`, [projectId]);
    expect(rows[0]!.n).to.equal(2);
  });

  it('rejects a report without instanceId with a 4xx and no side effect', async () => {
    const res = await tenant.post<{ errorCode: string }>('/api/gateway/report-result', { businessId: 'm1', success: false, latencyMs: 50, callTimestamp: Date.now() });
    expect(res.status).to.equal(400);
    expect(res.body.errorCode).to.equal('VALIDATION_FAILED');
  });

  it('stores exactly the reported events, also after the ingestor re-reads the whole topic', async () => {
    await waitFor('40 rows', async () => (await countRows()).rows === 40);
    expect(await countRows()).to.deep.equal({ rows: 40, distinct: 40, rollup: 40 });

    await ingestor.close();
    const admin = probe.kafka.admin();
    await admin.connect();
    await admin.resetOffsets({ groupId: names.ingestorGroup, topic: names.topic, earliest: true });
    await admin.disconnect();
    ingestor = await startIngestor(names);
    const marker = event(instances[2]!, true);
    await producer.send({ topic: names.topic, acks: -1, messages: [signedByKey({ key: marker.instanceId, value: encodeCallResultEvent(marker) }, apiKey)] });
    await waitFor('the marker row', async () => (await countRows()).rows === 41);
    // Everything was read twice; nothing was written twice, and the rollups counted each event once.
    expect(await countRows()).to.deep.equal({ rows: 41, distinct: 41, rollup: 41 });
  });

  it('dead-letters malformed and foreign messages and keeps consuming', async () => {
    const foreign = event(instances[0]!, true, { projectId: 'f'.repeat(32) });
    const good = event(instances[2]!, true);
    await producer.send({
      topic: names.topic,
      acks: -1,
      messages: [
        // Signed with the api's credential, so that what each is refused for is its content.
        { key: 'x', value: Buffer.from('{not json'), headers: { origin: 'fuzz' } },
        { key: foreign.instanceId, value: encodeCallResultEvent(foreign) },
        { key: 'y', value: Buffer.from(JSON.stringify({ ...good, schemaVersion: 99, eventId: randomUUID() })) },
        { key: good.instanceId, value: encodeCallResultEvent(good) },
      ].map((m) => signedByService(m)),
    });
    const dlq: { reason: string; value: string; origin?: string }[] = [];
    const consumer: Consumer = probe.kafka.consumer({ groupId: `${names.ingestorGroup}-dlq-reader`, maxWaitTimeInMs: 200 });
    await consumer.connect();
    await consumer.subscribe({ topic: names.dlqTopic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        dlq.push({
          reason: String(message.headers?.['apg-dlq-reason']),
          value: message.value?.toString() ?? '',
          origin: message.headers?.['origin']?.toString(),
        });
      },
    });
    try {
      await waitFor('three dead letters', () => dlq.length >= 3, { timeoutMs: 20_000 });
    } finally {
      await consumer.disconnect();
    }
    expect(dlq.map((d) => d.reason).sort()).to.deep.equal(['foreign_instance', 'malformed_json', 'unknown_schema_version']);
    const malformed = dlq.find((d) => d.reason === 'malformed_json')!;
    expect(malformed.value).to.equal('{not json');
    expect(malformed.origin).to.equal('fuzz');
    await waitFor('the good event after the bad ones', async () => (await countRows()).rows === 42);
  });

  it('reports the state of each dependency on /api/health', async () => {
    const res = await api.http.get<{ data: { status: string; dependencies: Record<string, { status: string }> } }>('/api/health');
    expect(res.status).to.equal(200);
    expect(res.body.data.status).to.equal('UP');
    expect(Object.keys(res.body.data.dependencies).sort()).to.deep.equal(['aggregator', 'ingestor', 'kafka', 'postgres', 'redis']);
    for (const [name, dep] of Object.entries(res.body.data.dependencies)) expect(dep.status, name).to.equal('UP');
  });
});
