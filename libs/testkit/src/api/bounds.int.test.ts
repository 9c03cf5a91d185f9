import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { Kafka } from 'kafkajs';
import { MAX_CALL_TIMESTAMP_SKEW_MS } from '@apg/contracts';
import { openProbe, startApi, stackNames, type Probe, type StackNames } from '../stack';
import { createTenant, type TestTenant } from '../tenant';
import { waitFor } from '../wait-for';
import { expectOk, expectValidation, type Env } from './contract';

const DAY = 86_400_000;

/** Every event on the topic so far (read from the start by a fresh group), until `until` holds. */
async function readEvents(kafka: Kafka, topic: string, until: (events: Record<string, unknown>[]) => boolean): Promise<Record<string, unknown>[]> {
  const consumer = kafka.consumer({ groupId: `bounds-reader-${randomUUID()}`, maxWaitTimeInMs: 100 });
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

/**
 * Values at the edge (issue 8): routingParams out of bounds on every route that takes them, reports dated
 * outside the retention or ahead of the clock, usage counts that could overflow a sum — all 400 naming the
 * field — and an old out-of-bounds row that must not break selection.
 */
describe('api: bounds at the edge (real Postgres, Redis, Kafka)', function () {
  this.timeout(60_000);
  let names: StackNames;
  let probe: Probe;
  let api: Awaited<ReturnType<typeof startApi>>;
  let tenant: TestTenant;
  let instanceId = '';

  const register = (routingParams: unknown, businessId = `b-${randomUUID().slice(0, 8)}`) =>
    tenant.http.post<Env<{ id: string; routingParams: unknown }>>('/api/instances', { apiIdentifier: 'bounded', apiType: 'MODEL', businessId, routingParams });
  const report = (body: Record<string, unknown>) =>
    tenant.http.post<Env>('/api/gateway/report-result', { instanceId, businessId: 'b-main', success: true, latencyMs: 10, ...body });

  before(async () => {
    names = stackNames();
    probe = await openProbe(names);
    api = await startApi(names);
    tenant = await createTenant(api);
    instanceId = expectOk<{ id: string }>(await register({ priority: '2', weight: 1 }, 'b-main')).id;
  });

  after(async () => {
    await api?.close();
    await probe?.close();
  });

  describe('routingParams', () => {
    const cases: { name: string; routingParams: unknown; field: string }[] = [
      { name: 'a window under a second', routingParams: { breaker: { windowMs: 999 } }, field: 'routingParams.breaker.windowMs' },
      { name: 'a failure rate of 0', routingParams: { breaker: { failureRateThreshold: 0 } }, field: 'routingParams.breaker.failureRateThreshold' },
      { name: 'openDurationMs above maxOpenDurationMs', routingParams: { breaker: { openDurationMs: 120_000, maxOpenDurationMs: 60_000 } }, field: 'routingParams.breaker.openDurationMs' },
      { name: 'an unknown breaker key', routingParams: { breaker: { minCals: 3 } }, field: 'routingParams.breaker.minCals' },
      { name: 'a fractional priority', routingParams: { priority: 0.5 }, field: 'routingParams.priority' },
      { name: 'a weight above a million', routingParams: { initial_weight: 2_000_000 }, field: 'routingParams.initial_weight' },
      { name: 'a cost above 1e9', routingParams: { cost_per_unit: '2e9' }, field: 'routingParams.cost_per_unit' },
      { name: 'rpm 0', routingParams: { rpm: 0 }, field: 'routingParams.rpm' },
      { name: 'a 60,000-digit tpm ending in a letter', routingParams: { tpm: `${'1'.repeat(60_000)}a` }, field: 'routingParams.tpm' },
    ];
    for (const c of cases) {
      it(`register: ${c.name} → 400 naming ${c.field}`, async () => {
        const body = expectValidation(await register(c.routingParams));
        expect(body.errors!.map((e) => e.field)).to.deep.equal([c.field]);
      });
    }

    it('numeric strings and the client\'s own keys are accepted and stored as sent', async () => {
      const params = { priority: '2', cost_per_unit: '0.5', costPerToken: 1e-6, region: 'eu', breaker: { windowMs: 30_000, failureRateThreshold: 1 } };
      const dto = expectOk<{ routingParams: unknown }>(await register(params));
      expect(dto.routingParams).to.deep.equal(params);
    });

    it('batch names the item, update names the field, and nothing is written', async () => {
      const batch = await tenant.http.post<Env>('/api/instances/batch', {
        instances: [
          { apiIdentifier: 'bounded', apiType: 'MODEL', businessId: 'batch-ok', routingParams: { priority: 1 } },
          { apiIdentifier: 'bounded', apiType: 'MODEL', businessId: 'batch-bad', routingParams: { breaker: { halfOpenProbes: 101 } } },
        ],
      });
      expect(expectValidation(batch).errors!.map((e) => e.field)).to.deep.equal(['instances.1.routingParams.breaker.halfOpenProbes']);
      const { rows } = await probe.db.query<{ n: number }>('test.count', `SELECT count(*)::int AS n FROM api_instances WHERE project_id = $1 AND business_id LIKE 'batch-%'`, [tenant.projectId]);
      expect(rows[0]!.n).to.equal(0);

      const update = await tenant.http.put<Env>('/api/instances/MODEL/b-main', { apiIdentifier: 'bounded', routingParams: { breaker: { slowCallMs: 3_600_001 } } });
      expect(expectValidation(update).errors!.map((e) => e.field)).to.deep.equal(['routingParams.breaker.slowCallMs']);
    });

    it('a row stored before the bounds does not break selection: its bad values fall back to the defaults', async () => {
      const old = expectOk<{ id: string }>(await register({}, 'b-old'));
      const stored = { priority: `${'9'.repeat(60_000)}x`, weight: 1e300, rpm: -1, breaker: { windowMs: 1e15, minCalls: 'ten', openDurationMs: 0 } };
      await probe.db.query('test.old_row', 'UPDATE api_instances SET routing_params = $2::jsonb WHERE id = $1', [old.id, JSON.stringify(stored)]);
      await tenant.http.put('/api/instances/MODEL/b-old', { apiIdentifier: 'old-only' }); // announces the change, drops the registry cache
      const t0 = Date.now();
      const chosen = expectOk<{ id: string }>(await tenant.http.post<Env<{ id: string }>>('/api/gateway/select-instance', { apiIdentifier: 'old-only', apiType: 'MODEL' }));
      expect(chosen.id).to.equal(old.id);
      expect(Date.now() - t0, 'selection time').to.be.below(1000);
    });
  });

  describe('reports', () => {
    it(`callTimestamp: within [now − RETENTION_DAYS, now + 5 min] accepted; outside → 400 naming callTimestamp`, async () => {
      const now = Date.now();
      expectOk(await report({ callTimestamp: now - 6 * DAY }));
      expectOk(await report({ callTimestamp: now + MAX_CALL_TIMESTAMP_SKEW_MS - 5_000 }));
      for (const callTimestamp of [now - 8 * DAY, now + MAX_CALL_TIMESTAMP_SKEW_MS + 60_000, 0]) {
        const body = expectValidation(await report({ callTimestamp }));
        expect(body.errors!.map((e) => e.field), String(callTimestamp)).to.deep.equal(['callTimestamp']);
      }
    });

    it('usage counts above 1e9 per report → 400 naming the key; other odd usage values are ignored', async () => {
      const cases: [Record<string, unknown>, string][] = [
        [{ promptTokens: 2e9 }, 'usageMetrics.promptTokens'],
        [{ completionTokens: 1e12 }, 'usageMetrics.completionTokens'],
        [{ totalTokens: 1_000_000_001 }, 'usageMetrics.totalTokens'],
        [{ promptTokens: 600_000_000, completionTokens: 600_000_000 }, 'usageMetrics.totalTokens'],
        [{ cost: 1e10 }, 'usageMetrics.cost'],
        [{ totalCost: 1e10 }, 'usageMetrics.totalCost'],
      ];
      for (const [usageMetrics, field] of cases) {
        expect(expectValidation(await report({ usageMetrics })).errors!.map((e) => e.field), JSON.stringify(usageMetrics)).to.deep.equal([field]);
      }
      expectOk(await report({ usageMetrics: { promptTokens: 1e9, completionTokens: 0, cost: 1e9, promptTokensStr: '5', negative: -1, model: 'x' } }));
      expectOk(await report({ usageMetrics: { promptTokens: '12', completionTokens: -3, cost: 'free' } }));
    });

    it('a report with a selectionId has an eventId of the selection alone: a retry without callTimestamp is the same event', async () => {
      const sel = expectOk<{ id: string; selectionId: string }>(await tenant.http.post<Env<{ id: string; selectionId: string }>>('/api/gateway/select-instance', { apiIdentifier: 'bounded', apiType: 'MODEL' }));
      instanceId = sel.id;
      const marker = `retry-${randomUUID()}`;
      expectOk(await report({ selectionId: sel.selectionId, callTimestamp: Date.now() - 1000, success: false, errorMessage: marker }));
      expectOk(await report({ selectionId: sel.selectionId, success: false, errorMessage: marker }));
      const events = (await readEvents(probe.kafka, names.topic, (e) => e.filter((x) => x['errorMessage'] === marker).length >= 2)).filter((x) => x['errorMessage'] === marker);
      expect(events).to.have.length(2);
      expect(events[0]!['eventId']).to.equal(events[1]!['eventId']);
      expect(events[0]!['callTimestamp']).to.not.equal(events[1]!['callTimestamp']);
    });
  });
});
