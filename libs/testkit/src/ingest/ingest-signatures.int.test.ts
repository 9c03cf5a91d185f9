import { expect } from 'chai';
import type { IHeaders } from 'kafkajs';
import { signEvent, type CallResultEvent } from '@apg/contracts';
import { readRecord, waitForRecord } from '../aggregator/fixtures';
import { signedByKey, signedByService } from '../signing';
import { startAggregator, startApi, type TestAggregator } from '../stack';
import { createTenant } from '../tenant';
import { waitFor } from '../wait-for';
import {
  callEvent,
  closeIngestSuite,
  countStored,
  metricValue,
  openIngestSuite,
  produceMessages,
  readDeadLetters,
  registerInstances,
  registerProjectKey,
  startIngestorInProcess,
  type IngestSuite,
  type TestInstance,
} from './ingest-fixture';

type Message = { key: string; value: string; headers: IHeaders };

const signed = (e: CallResultEvent, apiKey: string): Message => signedByKey({ key: e.instanceId, value: JSON.stringify(e) }, apiKey);
const tagged = (m: Message, tag: string): Message => ({ ...m, headers: { ...m.headers, 'test-case': tag } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Key cache TTL of these stacks: short, so that revocation and rotation show within the test. */
const KEY_TTL_MS = 300;

/**
 * Signed events on the real stack (issue 10 §2): the real ingestor and aggregator, keys issued in Postgres
 * as the api stores them (digests only), events signed with the real keys and published straight to Kafka.
 * Each kind of bad signature ends in the DLQ with its reason and counts nowhere (no row, nothing in the
 * breaker window); the attack (one tenant parking another's instance with one AUTH_INVALID event)
 * fails; a revoked, rotated-out or expired key stops counting; migration mode counts unsigned events only.
 */
describe('signed events: only what a project key (or the api) signed counts (real stack)', function () {
  this.timeout(240_000);

  describe('REQUIRE_SIGNED_EVENTS=true (default)', () => {
    let suite: IngestSuite;
    let ingestor: Awaited<ReturnType<typeof startIngestorInProcess>> | null = null;
    let aggregator: TestAggregator | null = null;

    before(async () => {
      suite = await openIngestSuite();
      ingestor = await startIngestorInProcess(suite.names, { options: { signing: { keyCacheTtlMs: KEY_TTL_MS } } });
      aggregator = await startAggregator(suite.names, { signing: { keyCacheTtlMs: KEY_TTL_MS } });
    });

    after(async () => {
      await aggregator?.close();
      await ingestor?.close();
      await closeIngestSuite(suite);
    });

    it('dead-letters each kind of bad signature with its reason, stores none, and the aggregator counts none', async () => {
      const { probe, producer, names } = suite;
      const a = await registerInstances(probe.db, 2);
      const b = await registerInstances(probe.db, 1);
      const r = await registerInstances(probe.db, 1);
      const x = await registerInstances(probe.db, 1);
      const keyA = await registerProjectKey(probe.db, a.projectId);
      const keyB = await registerProjectKey(probe.db, b.projectId);
      const revoked = await registerProjectKey(probe.db, r.projectId, { status: 'REVOKED' });
      const expired = await registerProjectKey(probe.db, x.projectId, { expiresAt: new Date(Date.now() - 1000) });
      const [victim, marker] = a.instances as [TestInstance, TestInstance];
      const authInvalid = { success: false, errorType: 'AUTH_INVALID', statusCode: 401 } as const;

      const good = signed(callEvent(victim), keyA);
      const cases: [string, Message][] = [
        ['unsigned', { key: victim.id, value: JSON.stringify(callEvent(victim)), headers: {} }],
        // A signature of other bytes: the value was changed after signing.
        ['bad_signature', { ...good, value: JSON.stringify(callEvent(victim)) }],
        ['bad_signature', { ...signed(callEvent(victim), keyA), headers: { ...signed(callEvent(victim), keyA).headers, 'apg-signature': 'v1=not-hex' } }],
        ['unknown_key', signed(callEvent(victim), 'gw_never-issued-by-this-gateway')],
        ['revoked_key', signed(callEvent(r.instances[0]!), revoked)],
        ['expired_key', signed(callEvent(x.instances[0]!), expired)],
        // The attack: tenant B's real key, tenant A's instance, one AUTH_INVALID (it would park the instance).
        ['key_project_mismatch', signed(callEvent(victim, authInvalid), keyB)],
        ['foreign_instance', signed(callEvent(victim, { ...authInvalid, projectId: b.projectId }), keyB)],
      ];
      await produceMessages(producer, names.topic, cases.map(([reason, m]) => tagged(m, reason)));
      // A good event after them, signed by A's key: once it is stored and counted, the bad ones were handled.
      await produceMessages(producer, names.topic, [signed(callEvent(marker), keyA)]);

      const letters = await readDeadLetters(probe.kafka, names.dlqTopic, cases.length);
      expect(letters).to.have.length(cases.length);
      for (const l of letters) {
        expect(l.reason, l.detail).to.equal(String(l.headers['test-case']));
        // The original bytes and headers, signature included, for inspection or replay.
        expect(cases.some(([, m]) => m.value === l.value), 'original value').to.equal(true);
      }
      expect(letters.filter((l) => l.reason === 'revoked_key')[0]!.headers['apg-key-id']?.toString()).to.equal(signEvent('', revoked)['apg-key-id']);

      await waitFor('the marker stored', async () => (await countStored(probe.db, a.projectId)).rows === 1);
      await waitForRecord(probe.redis, names, marker.id, 'the marker counted', (rec) => rec.stats?.calls === 1);
      for (const p of [a, r, x]) expect((await countStored(probe.db, p.projectId)).rows).to.equal(p === a ? 1 : 0);
      expect(await readRecord(probe.redis, names, victim.id), 'nothing counted for the attacked instance').to.equal(null);
      for (const id of [r.instances[0]!.id, x.instances[0]!.id]) expect(await readRecord(probe.redis, names, id)).to.equal(null);
      for (const reason of ['unsigned', 'bad_signature', 'unknown_key', 'revoked_key', 'expired_key', 'key_project_mismatch', 'foreign_instance']) {
        expect(await metricValue(aggregator!.metrics, 'apg_aggregator_rejected_events_total', { reason }), reason).to.equal(reason === 'bad_signature' ? 2 : 1);
        expect(await metricValue(ingestor!.metrics, 'apg_ingestor_dead_letters_total', { reason }), reason).to.equal(reason === 'bad_signature' ? 2 : 1);
      }

      // Not vacuous: the same AUTH_INVALID signed by the instance's own project key does park it.
      await produceMessages(producer, names.topic, [signed(callEvent(victim, authInvalid), keyA)]);
      await waitForRecord(probe.redis, names, victim.id, 'the owner\'s AUTH_INVALID applied', (rec) => rec.state === 'FORCED_OPEN');
    });

    it('rotation and revocation: the project\'s current key counts, a replaced or revoked key stops counting within the cache TTL', async () => {
      const { probe, producer, names } = suite;
      const p = await registerInstances(probe.db, 1);
      const inst = p.instances[0]!;
      const dlqBefore = (await metricValue(ingestor!.metrics, 'apg_ingestor_messages_total', { outcome: 'dlq' }));
      const first = await registerProjectKey(probe.db, p.projectId);
      await produceMessages(producer, names.topic, [signed(callEvent(inst), first)]);
      await waitFor('the first key\'s event stored', async () => (await countStored(probe.db, p.projectId)).rows === 1);

      // Rotation: the project gets a new key; the old one is still ACTIVE but no longer the project's.
      const second = await registerProjectKey(probe.db, p.projectId);
      await sleep(2 * KEY_TTL_MS);
      await produceMessages(producer, names.topic, [tagged(signed(callEvent(inst), first), 'key_project_mismatch'), signed(callEvent(inst), second)]);
      await waitFor('the new key\'s event stored', async () => (await countStored(probe.db, p.projectId)).rows === 2);

      // Revocation of the current key (as PUT /api/admin/apikeys/{id}/status does): its events stop counting, the api's still count.
      await probe.db.query('test.revoke', `UPDATE api_keys SET status = 'REVOKED' WHERE id = (SELECT api_key_id FROM projects WHERE id = $1)`, [p.projectId]);
      await sleep(2 * KEY_TTL_MS);
      await produceMessages(producer, names.topic, [tagged(signed(callEvent(inst), second), 'revoked_key'), signedByService({ key: inst.id, value: JSON.stringify(callEvent(inst)) })]);
      await waitFor('the api-signed event stored', async () => (await countStored(probe.db, p.projectId)).rows === 3);
      await waitFor('two more dead letters', async () => (await metricValue(ingestor!.metrics, 'apg_ingestor_messages_total', { outcome: 'dlq' })) === dlqBefore + 2);
      const letters = (await readDeadLetters(probe.kafka, names.dlqTopic, dlqBefore + 2)).filter((l) => l.headers['test-case'] !== undefined && l.value.includes(inst.id));
      expect(letters.map((l) => [l.reason, String(l.headers['test-case'])])).to.deep.equal([['key_project_mismatch', 'key_project_mismatch'], ['revoked_key', 'revoked_key']]);
      await waitForRecord(probe.redis, names, inst.id, 'the aggregator counted the three good events', (rec) => rec.stats?.calls === 3);
    });

    it('a deactivated project\'s key stops counting within the cache TTL (the api answers it 403), and counts again once reactivated', async () => {
      const { probe, producer, names } = suite;
      const p = await registerInstances(probe.db, 1);
      const inst = p.instances[0]!;
      const key = await registerProjectKey(probe.db, p.projectId);
      const dlqBefore = await metricValue(ingestor!.metrics, 'apg_ingestor_messages_total', { outcome: 'dlq' });
      const rejectedBefore = await metricValue(aggregator!.metrics, 'apg_aggregator_rejected_events_total', { reason: 'inactive_project' });
      await probe.db.query('test.deactivate', `UPDATE projects SET status = 'INACTIVE' WHERE id = $1`, [p.projectId]);
      await sleep(2 * KEY_TTL_MS);
      // An AUTH_INVALID would park the instance: the deactivated tenant must not move its breakers from outside the api.
      await produceMessages(producer, names.topic, [tagged(signed(callEvent(inst, { success: false, errorType: 'AUTH_INVALID', statusCode: 401 }), key), 'inactive_project')]);
      await waitFor('one more dead letter', async () => (await metricValue(ingestor!.metrics, 'apg_ingestor_messages_total', { outcome: 'dlq' })) === dlqBefore + 1);
      const letters = (await readDeadLetters(probe.kafka, names.dlqTopic, dlqBefore + 1)).filter((l) => l.value.includes(inst.id));
      expect(letters.map((l) => l.reason)).to.deep.equal(['inactive_project']);
      await waitFor('the aggregator refused it', async () => (await metricValue(aggregator!.metrics, 'apg_aggregator_rejected_events_total', { reason: 'inactive_project' })) === rejectedBefore + 1);

      await probe.db.query('test.reactivate', `UPDATE projects SET status = 'ACTIVE' WHERE id = $1`, [p.projectId]);
      await sleep(2 * KEY_TTL_MS);
      await produceMessages(producer, names.topic, [signed(callEvent(inst), key)]);
      await waitFor('the reactivated project\'s event stored', async () => (await countStored(probe.db, p.projectId)).rows === 1);
      await waitForRecord(probe.redis, names, inst.id, 'counted once, not parked', (rec) => rec.stats?.calls === 1 && rec.state !== 'FORCED_OPEN');
    });
  });

  describe('revocation through the admin API', () => {
    let suite: IngestSuite;
    let api: Awaited<ReturnType<typeof startApi>> | null = null;
    let aggregator: TestAggregator | null = null;

    before(async () => {
      suite = await openIngestSuite();
      api = await startApi(suite.names);
      // A TTL far longer than the test: only the api's announcement can make the revocation show in time.
      aggregator = await startAggregator(suite.names, { signing: { keyCacheTtlMs: 600_000 } });
    });

    after(async () => {
      await aggregator?.close();
      await api?.close();
      await closeIngestSuite(suite);
    });

    it('the aggregator stops counting a key as soon as the api announces its revocation (no TTL wait)', async () => {
      const { producer, names, probe } = suite;
      const tenant = await createTenant(api!);
      const created = await tenant.http.post<{ data: { id: string; businessId: string }[] }>('/api/instances/batch', { instances: [{ apiIdentifier: 'gpt4o', apiType: 'MODEL', businessId: 'revoked-soon' }] });
      expect(created.status, created.text).to.equal(200);
      const inst = { id: created.body.data[0]!.id, projectId: tenant.projectId, businessId: 'revoked-soon' };
      await produceMessages(producer, names.topic, [signed(callEvent(inst), tenant.apiKey)]);
      await waitForRecord(probe.redis, names, inst.id, 'the first event counted', (rec) => rec.stats?.calls === 1);

      const revoked = await api!.admin.put(`/api/admin/apikeys/${tenant.keyId}/status`, { status: 'REVOKED' });
      expect(revoked.status, revoked.text).to.equal(200);
      // The api answered after announcing it on Redis; an event published now reaches the aggregator later than that.
      await produceMessages(producer, names.topic, [signed(callEvent(inst), tenant.apiKey)]);
      await waitFor('the event after the revocation refused', async () =>
        (await metricValue(aggregator!.metrics, 'apg_aggregator_rejected_events_total', { reason: 'revoked_key' })) === 1, { timeoutMs: 10_000 });
      expect((await readRecord(probe.redis, names, inst.id))?.stats?.calls, 'nothing counted after the revocation').to.equal(1);
    });

    it('deactivating a project through the admin API stops its key counting at once too (inactive_project, no TTL wait)', async () => {
      const { producer, names, probe } = suite;
      const tenant = await createTenant(api!);
      const created = await tenant.http.post<{ data: { id: string; businessId: string }[] }>('/api/instances/batch', { instances: [{ apiIdentifier: 'gpt4o', apiType: 'MODEL', businessId: 'paused-soon' }] });
      expect(created.status, created.text).to.equal(200);
      const inst = { id: created.body.data[0]!.id, projectId: tenant.projectId, businessId: 'paused-soon' };
      await produceMessages(producer, names.topic, [signed(callEvent(inst), tenant.apiKey)]);
      await waitForRecord(probe.redis, names, inst.id, 'the first event counted', (rec) => rec.stats?.calls === 1);

      const paused = await api!.admin.put(`/api/admin/projects/${tenant.projectId}/status`, { status: 'INACTIVE' });
      expect(paused.status, paused.text).to.equal(200);
      await produceMessages(producer, names.topic, [signed(callEvent(inst, { success: false, errorType: 'AUTH_INVALID', statusCode: 401 }), tenant.apiKey)]);
      await waitFor('the event after the deactivation refused', async () =>
        (await metricValue(aggregator!.metrics, 'apg_aggregator_rejected_events_total', { reason: 'inactive_project' })) === 1, { timeoutMs: 10_000 });
      const rec = await readRecord(probe.redis, names, inst.id);
      expect(rec?.stats?.calls, 'nothing counted after the deactivation').to.equal(1);
      expect(rec?.state, 'not parked by the deactivated tenant').to.not.equal('FORCED_OPEN');
    });

    it('key rotation: a second key issued for the project selects, reports and signs; revoking the first leaves the second working; deleting the project revokes both', async () => {
      const { producer, names, probe } = suite;
      const tenant = await createTenant(api!);
      const created = await tenant.http.post<{ data: { id: string; businessId: string }[] }>('/api/instances/batch', { instances: [{ apiIdentifier: 'gpt4o', apiType: 'MODEL', businessId: 'rotated' }] });
      expect(created.status, created.text).to.equal(200);
      const inst = { id: created.body.data[0]!.id, projectId: tenant.projectId, businessId: 'rotated' };

      const issued = await api!.admin.post<{ data: { id: string; apiKeyValue: string; status: string } }>(`/api/admin/projects/${tenant.projectId}/keys`, { description: 'rotation' });
      expect(issued.status, issued.text).to.equal(200);
      expect(issued.body.data.status).to.equal('ACTIVE');
      const second = { keyId: issued.body.data.id, http: api!.http.with({ 'api-key': issued.body.data.apiKeyValue }), apiKey: issued.body.data.apiKeyValue };
      const select = (http: typeof tenant.http) => http.post<{ data: { id: string } }>('/api/gateway/select-instance', { apiType: 'MODEL', apiIdentifier: 'gpt4o' });

      // Both keys unlock the same project: select, report, and sign events that count.
      for (const http of [tenant.http, second.http]) {
        const chosen = await select(http);
        expect(chosen.status, chosen.text).to.equal(200);
        expect(chosen.body.data.id).to.equal(inst.id);
      }
      const project = await second.http.post<{ data: { id: string } }>('/api/projects', { name: 'again', apiKey: second.apiKey });
      expect(project.body.data.id, 'POST /api/projects with the second key answers the same project').to.equal(tenant.projectId);
      await produceMessages(producer, names.topic, [signed(callEvent(inst), tenant.apiKey), signed(callEvent(inst), second.apiKey)]);
      await waitForRecord(probe.redis, names, inst.id, 'events of both keys counted', (rec) => rec.stats?.calls === 2);
      const listed = await api!.admin.get<{ data: { id: string; apiKeyValue?: string }[] }>(`/api/admin/projects/${tenant.projectId}/keys`);
      expect(listed.body.data.map((k) => k.id).sort()).to.deep.equal([tenant.keyId, second.keyId].sort());
      expect(listed.body.data.some((k) => k.apiKeyValue !== undefined), 'plaintext never listed').to.equal(false);

      // Retire the first key: refused at once over HTTP and on the topic; the second key carries on.
      const rejectedBefore = await metricValue(aggregator!.metrics, 'apg_aggregator_rejected_events_total', { reason: 'revoked_key' });
      expect((await api!.admin.put(`/api/admin/apikeys/${tenant.keyId}/status`, { status: 'REVOKED' })).status).to.equal(200);
      expect((await select(tenant.http)).status, 'the revoked key').to.equal(401);
      expect((await select(second.http)).status, 'the other key of the project').to.equal(200);
      await produceMessages(producer, names.topic, [signed(callEvent(inst), tenant.apiKey), signed(callEvent(inst), second.apiKey)]);
      await waitForRecord(probe.redis, names, inst.id, 'the second key still counts', (rec) => rec.stats?.calls === 3);
      await waitFor('the first key refused', async () =>
        (await metricValue(aggregator!.metrics, 'apg_aggregator_rejected_events_total', { reason: 'revoked_key' })) === rejectedBefore + 1, { timeoutMs: 10_000 });

      // Deleting the project revokes every key it had.
      expect((await api!.admin.delete(`/api/admin/projects/${tenant.projectId}`)).status).to.equal(200);
      expect((await select(second.http)).status, 'a key of a deleted project').to.equal(401);
      const { rows } = await probe.db.query<{ status: string }>('test.keys', 'SELECT status FROM api_keys WHERE id = ANY($1::text[])', [[tenant.keyId, second.keyId]]);
      expect(rows.map((r) => r.status)).to.deep.equal(['REVOKED', 'REVOKED']);
    });

    it('issuing a key for a project that does not exist is a 404; a bad expiry is a 400 VALIDATION_FAILED', async () => {
      expect((await api!.admin.post(`/api/admin/projects/${'0'.repeat(32)}/keys`, {})).status).to.equal(404);
      expect((await api!.admin.get(`/api/admin/projects/${'0'.repeat(32)}/keys`)).status).to.equal(404);
      const tenant = await createTenant(api!);
      const bad = await api!.admin.post<{ errorCode: string }>(`/api/admin/projects/${tenant.projectId}/keys`, { expiresAt: 'tomorrow' });
      expect(bad.status).to.equal(400);
      expect(bad.body.errorCode).to.equal('VALIDATION_FAILED');
    });
  });

  describe('REQUIRE_SIGNED_EVENTS=false (migration)', () => {
    let suite: IngestSuite;
    let ingestor: Awaited<ReturnType<typeof startIngestorInProcess>> | null = null;
    let aggregator: TestAggregator | null = null;

    before(async () => {
      suite = await openIngestSuite();
      ingestor = await startIngestorInProcess(suite.names, { options: { signing: { requireSigned: false } } });
      aggregator = await startAggregator(suite.names, { signing: { requireSigned: false } });
    });

    after(async () => {
      await aggregator?.close();
      await ingestor?.close();
      await closeIngestSuite(suite);
    });

    it('counts unsigned events (and says so in a metric); a present but wrong signature is still refused', async () => {
      const { probe, producer, names } = suite;
      const p = await registerInstances(probe.db, 1);
      const key = await registerProjectKey(probe.db, p.projectId);
      const inst = p.instances[0]!;
      const forged = signed(callEvent(inst), key);
      await produceMessages(producer, names.topic, [
        { key: inst.id, value: JSON.stringify(callEvent(inst)), headers: {} },
        { ...forged, value: JSON.stringify(callEvent(inst)) },
        { key: inst.id, value: JSON.stringify(callEvent(inst)), headers: { 'apg-key-id': signEvent('', key)['apg-key-id']! } },
        signed(callEvent(inst), key),
      ]);
      const letters = await readDeadLetters(probe.kafka, names.dlqTopic, 2);
      expect(letters.map((l) => l.reason)).to.deep.equal(['bad_signature', 'bad_signature']);
      await waitFor('the unsigned and the signed event stored', async () => (await countStored(probe.db, p.projectId)).rows === 2);
      await waitForRecord(probe.redis, names, inst.id, 'both counted', (rec) => rec.stats?.calls === 2);
      expect(await metricValue(ingestor!.metrics, 'apg_ingestor_unsigned_events_accepted_total')).to.equal(1);
      expect(await metricValue(aggregator!.metrics, 'apg_aggregator_unsigned_events_accepted_total')).to.equal(1);
    });
  });
});
