import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { KafkaMessage } from 'kafkajs';
import { REQUEST_ID_KAFKA_HEADER } from '@apg/contracts';
import { RedisKeys } from '@apg/platform';
import { register, setHealth, type Registered } from '../routing/routing-fixture';
import { openProbe, startApi, stackNames, type Probe, type StackNames } from '../stack';
import { createTenant, type TestTenant } from '../tenant';
import { uniqueName } from '../test-env';
import { waitFor } from '../wait-for';

type Api = Awaited<ReturnType<typeof startApi>>;

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The exposition as samples (enough of the text format for prom-client's output). */
function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const brace = line.indexOf('{');
    const space = line.lastIndexOf(' ');
    const name = brace >= 0 ? line.slice(0, brace) : line.slice(0, space);
    const labels: Record<string, string> = {};
    if (brace >= 0) {
      // Label values here never hold a quote followed by a comma, so `",` separates the pairs.
      for (const pair of line.slice(brace + 1, line.lastIndexOf('"}')).split('",')) {
        const eq = pair.indexOf('="');
        labels[pair.slice(0, eq)] = pair.slice(eq + 2);
      }
    }
    out.push({ name, labels, value: Number(line.slice(space + 1)) });
  }
  return out;
}

/** Sum of the samples named `name` whose labels include `labels`. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

const selectBody = (apiIdentifier: string, extra: Record<string, unknown> = {}) => ({ apiType: 'MODEL', apiIdentifier, strategy: 'ROUND_ROBIN', ...extra });

/**
 * The api's own metrics on the real stack (Postgres, Redis, Kafka): every select outcome and every report
 * outcome is driven for real, and the counters of `/metrics` must have moved by exactly what was done.
 * Plus the request id: echoed (or replaced when unsafe) and carried to Kafka as the `apg-request-id` header.
 */
describe('api metrics and request ids (real stack)', function () {
  this.timeout(120_000);
  let names: StackNames;
  let probe: Probe;
  let api: Api;
  let tenant: TestTenant;
  let inst: Registered;

  const scrape = async () => {
    const res = await api.http.get('/metrics');
    expect(res.status).to.equal(200);
    return parseExposition(res.text);
  };
  /** Runs `act` and returns how much the `name{labels}` counter moved meanwhile. */
  const delta = async (name: string, labels: Record<string, string>, act: () => Promise<unknown>) => {
    const before = valueOf(await scrape(), name, labels);
    await act();
    return valueOf(await scrape(), name, labels) - before;
  };
  const select = (t: TestTenant, body: unknown, headers?: Record<string, string>) =>
    t.http.post<{ errorCode?: string; data: { id: string; selectionId: string; fallbackUsed: boolean; panic?: boolean } }>('/api/gateway/select-instance', body, headers);
  const expectSelect = async (outcome: string, act: () => Promise<number>, strategy = 'ROUND_ROBIN') => {
    let status = 0;
    const moved = await delta('apg_select_total', { strategy, outcome }, async () => {
      status = await act();
    });
    expect(moved, `apg_select_total{strategy=${strategy},outcome=${outcome}} (answer ${status})`).to.equal(1);
    return status;
  };

  before(async () => {
    names = stackNames();
    probe = await openProbe(names);
    api = await startApi(names);
    tenant = await createTenant(api);
    [inst] = await register(tenant, [{ businessId: 'm-ok', apiIdentifier: 'ok-model' }]) as [Registered];
  });

  after(async () => {
    await api?.close();
    await probe?.close();
  });

  it('exports every select and report series from the first scrape, with route templates only', async () => {
    const samples = await scrape();
    for (const outcome of ['ok', 'fallback', 'panic', 'no_instance', 'no_healthy', 'rate_limited', 'affinity_unavailable', 'invalid', 'error']) {
      expect(samples.some((s) => s.name === 'apg_select_total' && s.labels['outcome'] === outcome), outcome).to.equal(true);
    }
    for (const outcome of ['accepted', 'invalid', 'not_found', 'unavailable']) {
      expect(samples.some((s) => s.name === 'apg_report_total' && s.labels['outcome'] === outcome), outcome).to.equal(true);
    }
    for (const state of ['CLOSED', 'OPEN', 'HALF_OPEN', 'FORCED_OPEN', 'FORCED_CLOSED']) {
      expect(samples.some((s) => s.name === 'apg_breaker_instances' && s.labels['state'] === state), state).to.equal(true);
    }
    for (const name of ['apg_breaker_snapshot_age_seconds', 'apg_aggregator_heartbeat_age_seconds', 'apg_leases_open', 'apg_cache_entries']) {
      expect(samples.some((s) => s.name === name), name).to.equal(true);
    }
    // A raw path with an id, and a path no route has: templates and "unmatched" only, never the path itself.
    await tenant.http.put(`/api/instances/MODEL/${inst.businessId}`, { apiIdentifier: 'ok-model' });
    await tenant.http.get(`/api/no-such-route/${inst.id}`);
    const after = await scrape();
    const routes = new Set(after.filter((s) => s.name === 'apg_http_request_duration_seconds_count').map((s) => s.labels['route']));
    expect(routes).to.include('/api/instances/{apiType}/{businessId}');
    expect(routes).to.include('unmatched');
    expect(after.some((s) => Object.values(s.labels).some((v) => v.includes(inst.id) || v.includes(inst.businessId)))).to.equal(false);
  });

  it('select outcomes: ok, fallback, no_instance, no_healthy, invalid, affinity_unavailable, panic', async () => {
    // ok, and whose verdict decided it (no record yet: the aggregator's side)
    const decided = await delta('apg_local_breaker_decisions_total', { source: 'aggregator' }, () =>
      expectSelect('ok', async () => (await select(tenant, selectBody('ok-model'))).status));
    expect(decided).to.equal(1);
    expect(await expectSelect('fallback', async () => (await select(tenant, selectBody('absent', { fallbackChain: ['ok-model'] }))).status)).to.equal(200);
    expect(await expectSelect('no_instance', async () => (await select(tenant, selectBody('absent'))).status)).to.equal(404);
    expect(await expectSelect('no_instance', async () => (await select(tenant, selectBody('absent', { fallbackChain: ['also-absent'] }))).status)).to.equal(503);
    // Invalid: a bad strategy is found inside the select, a bad body before it; both count.
    expect(await expectSelect('invalid', async () => (await select(tenant, selectBody('ok-model', { strategy: 'FASTEST' }))).status, 'unknown')).to.equal(400);
    expect(await expectSelect('invalid', async () => (await select(tenant, { apiType: 'MODEL' })).status, 'unknown')).to.equal(400);

    // no_healthy: the only instance of an API is open; a fallback chain of open instances is no_healthy too.
    const [down] = await register(tenant, [{ businessId: 'm-down', apiIdentifier: 'down-model' }]);
    await setHealth(probe.redis, names, down!.id, { state: 'OPEN', openUntil: Date.now() + 600_000, openedAt: Date.now() });
    await waitFor('open record applied', async () => (await select(tenant, selectBody('down-model'))).status === 503);
    expect(await expectSelect('no_healthy', async () => (await select(tenant, selectBody('down-model'))).status)).to.equal(503);
    expect(await expectSelect('no_healthy', async () => (await select(tenant, selectBody('absent', { fallbackChain: ['down-model'] }))).status)).to.equal(503);
    const open = valueOf(await scrape(), 'apg_breaker_instances', { state: 'OPEN' });
    expect(open).to.be.at.least(1);

    // affinity_unavailable: bound with STRICT, then the bound instance opens.
    const [bound] = await register(tenant, [{ businessId: 'm-aff', apiIdentifier: 'aff-model' }]);
    const affinity = { affinityType: 'session', affinityKey: randomUUID(), affinityStrength: 'STRICT' };
    expect((await select(tenant, selectBody('aff-model', affinity))).status).to.equal(200);
    const key = new RedisKeys(names.redisPrefix).affinity(tenant.projectId, 'MODEL', 'aff-model', 'session', affinity.affinityKey);
    await waitFor('affinity bound', async () => (await probe.redis.get(key)) === bound!.id);
    await setHealth(probe.redis, names, bound!.id, { state: 'OPEN', openUntil: Date.now() + 600_000, openedAt: Date.now() });
    await waitFor('bound instance open', async () => (await select(tenant, selectBody('aff-model'))).status === 503);
    expect(await expectSelect('affinity_unavailable', async () => (await select(tenant, selectBody('aff-model', affinity))).status)).to.equal(409);

    // panic: the project opts in; the open instance is served, flagged.
    expect((await api.admin.request('PUT', `/api/admin/projects/${tenant.projectId}/settings`, { panicMode: true })).status).to.equal(200);
    await waitFor('panic mode applied', async () => (await select(tenant, selectBody('down-model'))).status === 200);
    expect(await expectSelect('panic', async () => (await select(tenant, selectBody('down-model'))).status)).to.equal(200);
    expect((await api.admin.request('PUT', `/api/admin/projects/${tenant.projectId}/settings`, { panicMode: false })).status).to.equal(200);

    const leases = await waitFor('leases counted', async () => valueOf(await scrape(), 'apg_leases_open') || null);
    expect(leases).to.be.at.least(1);
  });

  it('select outcome rate_limited: a project over its selects-per-second quota', async () => {
    const limited = await createTenant(api, uniqueName('limited'));
    await register(limited, [{ businessId: 'rl', apiIdentifier: 'rl-model' }]);
    expect((await api.admin.request('PUT', `/api/admin/projects/${limited.projectId}/quotas`, { selectsPerSecond: 1 })).status).to.equal(200);
    let answers: number[] = [];
    const moved = await delta('apg_select_total', { strategy: 'ROUND_ROBIN', outcome: 'rate_limited' }, async () => {
      // Until a burst lands within one second (the quota counts per wall-clock second).
      await waitFor('a 429', async () => {
        answers = (await Promise.all(Array.from({ length: 6 }, () => select(limited, selectBody('rl-model'))))).map((r) => r.status);
        return answers.includes(429) || null;
      });
    });
    expect(moved).to.be.at.least(answers.filter((s) => s === 429).length);
    expect(moved).to.be.greaterThan(0);
  });

  it('select outcome error: the registry query fails (its Postgres backend terminated while it waits on a lock)', async () => {
    const [other] = await register(tenant, [{ businessId: 'pay-1', apiIdentifier: 'pay' }]);
    expect(other).to.not.equal(undefined);
    await probe.db.tx('test.lock_instances', async (client) => {
      await client.query('LOCK TABLE api_instances IN ACCESS EXCLUSIVE MODE');
      const pending = expectSelect('error', async () => (await select(tenant, { apiType: 'PAYMENT_GATEWAY', apiIdentifier: 'pay', strategy: 'ROUND_ROBIN' })).status);
      // The registry group PAYMENT_GATEWAY was never loaded: its query waits on the lock; kill that backend.
      await waitFor('registry query waiting on the lock', async () => {
        const r = await client.query<{ n: number }>(
          `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
        );
        return (r.rows[0]?.n ?? 0) > 0 || null;
      });
      // A database failure mid-select is a dependency failure (503 DEPENDENCY_UNAVAILABLE), still counted as outcome error.
      expect(await pending).to.equal(503);
    });
  });

  it('report outcomes: accepted, invalid, not_found, unauthorized, unavailable (Kafka unreachable and the spool full → 503)', async () => {
    const report = (t: { http: TestTenant['http'] }, body: unknown) => t.http.post('/api/gateway/report-result', body);
    const good = { instanceId: inst.id, businessId: inst.businessId, success: true, latencyMs: 12 };
    const expectReport = async (outcome: string, act: () => Promise<{ status: number }>, status: number) => {
      let got = 0;
      expect(await delta('apg_report_total', { outcome }, async () => {
        got = (await act()).status;
      }), outcome).to.equal(1);
      expect(got, outcome).to.equal(status);
    };
    await expectReport('accepted', () => report(tenant, good), 200);
    await expectReport('invalid', () => report(tenant, { ...good, latencyMs: -1 }), 400);
    await expectReport('invalid', () => report(tenant, { ...good, callTimestamp: Date.now() + 3_600_000 }), 400);
    await expectReport('not_found', () => report(tenant, { ...good, instanceId: 'f'.repeat(32) }), 404);
    await expectReport('unauthorized', () => api.http.post('/api/gateway/report-result', good), 401);

    // A second replica whose Kafka never answers and whose report spool cannot hold one report: refused with 503.
    const spoolDir = await fs.mkdtemp(path.join(os.tmpdir(), 'apg-metrics-spool-'));
    const cut = await startApi(names, { brokers: ['127.0.0.1:1'], reportTimeoutMs: 300, reportSpool: { dir: spoolDir, maxBytes: 100, maxAgeMs: 60_000, fsync: 'always' } });
    try {
      const viaCut = { http: cut.http.with({ 'api-key': tenant.apiKey }) };
      const before = valueOf(parseExposition((await cut.http.get('/metrics')).text), 'apg_report_total', { outcome: 'unavailable' });
      const res = await report(viaCut, good);
      expect(res.status, res.text).to.equal(503);
      expect(res.text).to.contain('REPORT_SPOOL_FULL');
      const afterCut = valueOf(parseExposition((await cut.http.get('/metrics')).text), 'apg_report_total', { outcome: 'unavailable' });
      expect(afterCut - before).to.equal(1);
    } finally {
      await cut.close();
      await fs.rm(spoolDir, { recursive: true, force: true });
    }
    // The accepted report went through a produce call, timed and named.
    const samples = await scrape();
    expect(valueOf(samples, 'apg_kafka_produce_duration_seconds_count', { outcome: 'ok' })).to.be.at.least(1);
    expect(samples.some((x) => x.name === 'apg_kafka_produce_errors_total')).to.equal(true);
  });

  it('x-request-id: echoed when safe, replaced when not, and carried to Kafka as the apg-request-id header', async () => {
    const own = `req-${randomUUID()}`;
    const echoed = await select(tenant, selectBody('ok-model'), { 'x-request-id': own });
    expect(echoed.headers.get('x-request-id')).to.equal(own);
    for (const bad of ['x'.repeat(129), 'has space', 'quote"d', '']) {
      const res = await select(tenant, selectBody('ok-model'), { 'x-request-id': bad });
      const id = res.headers.get('x-request-id');
      expect(id, JSON.stringify(bad)).to.match(/^[0-9a-f-]{36}$/);
    }
    const generated = (await api.http.get('/api/no-such-route')).headers.get('x-request-id');
    expect(generated).to.match(/^[0-9a-f-]{36}$/);

    // A real report with its request id: read the event back from the topic.
    const seen: KafkaMessage[] = [];
    const consumer = probe.kafka.consumer({ groupId: uniqueName('request-id-reader'), maxWaitTimeInMs: 100 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: names.topic, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void seen.push(message) });
      const rid = `report-${randomUUID()}`;
      const sel = await select(tenant, selectBody('ok-model'));
      const res = await tenant.http.post('/api/gateway/report-result', {
        instanceId: inst.id, businessId: inst.businessId, selectionId: sel.body.data.selectionId, success: false, latencyMs: 30, statusCode: 500, errorType: 'SERVER_ERROR',
      }, { 'x-request-id': rid });
      expect(res.status, res.text).to.equal(200);
      expect(res.headers.get('x-request-id')).to.equal(rid);
      const message = await waitFor('the report on the topic', () =>
        seen.find((m) => (JSON.parse(m.value!.toString('utf8')) as { selectionId?: string }).selectionId === sel.body.data.selectionId), { timeoutMs: 30_000 });
      expect(message.headers?.[REQUEST_ID_KAFKA_HEADER]?.toString()).to.equal(rid);
    } finally {
      await consumer.disconnect();
    }
  });
});
