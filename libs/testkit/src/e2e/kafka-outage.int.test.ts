import { promises as fs } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { encodeFrame } from '@apg/api';
import { serviceEnv, spawnApi, spawnService, type ChildService } from '../child-service';
import { DEFAULT_BREAKER_CONFIG_VALUES } from '../breaker-defaults';
import { startTcpProxy, type TcpProxy } from '../ingest/tcp-proxy';
import { openProbe, startAggregator, startIngestor, stackNames, type Probe, type StackNames } from '../stack';
import { createTenant } from '../tenant';
import { testEnv } from '../test-env';
import { waitFor } from '../wait-for';
import { readRecord, windowCalls } from '../aggregator/fixtures';
import { expectStoredOnce, health, metric, openLeases, range, registerModels, reportSequences, spoolDir, topicOrder } from './spool-fixture';

type SpawnedApi = Awaited<ReturnType<typeof spawnApi>>;

/**
 * Kafka down (issue 13 §4): the api, as its real binary, takes reports into its write-ahead spool and answers
 * 200; selects go on; when Kafka is reachable again the spool drains in order and every event is stored and
 * counted exactly once. Kafka is unreachable through a TCP proxy in refuse mode in front of the shared broker
 * (kafkajs only bootstraps through it: once it answers, the producer talks to the advertised address, which is
 * why a failure mid-run is tested against a dedicated broker in kafka-broker-outage.int.test.ts).
 */
describe('api with Kafka unreachable: reports spooled, drained in order, once (real api binary)', function () {
  this.timeout(240_000);
  let names: StackNames;
  let probe: Probe;
  let ingestor: Awaited<ReturnType<typeof startIngestor>>;
  let aggregator: Awaited<ReturnType<typeof startAggregator>>;
  let proxy: TcpProxy;
  const children: ChildService[] = [];
  const dirs: string[] = [];

  /** An api whose only way to Kafka is the proxy (cut until a test restores it), spooling under `dir`. */
  const apiBehindProxy = async (dir: string, extra: Record<string, string> = {}): Promise<SpawnedApi> => {
    const api = await spawnApi(names, { KAFKA_BROKERS: `127.0.0.1:${proxy.port}`, REPORT_SPOOL_DIR: dir, REPORT_TIMEOUT_MS: '500', ...extra });
    children.push(api);
    return api;
  };
  const newDir = async () => {
    const d = await spoolDir();
    dirs.push(d);
    return d;
  };

  before(async () => {
    names = stackNames();
    probe = await openProbe(names);
    ingestor = await startIngestor(names);
    // A long window: every event of the test stays in it however slow the machine is.
    aggregator = await startAggregator(names, { breakerDefaults: { ...DEFAULT_BREAKER_CONFIG_VALUES, windowMs: 600_000 } });
  });

  beforeEach(async () => {
    const [host, port] = testEnv().brokers[0]!.split(':') as [string, string];
    proxy = await startTcpProxy({ host, port: Number(port) });
    proxy.cut();
  });

  afterEach(async () => {
    for (const c of children.splice(0)) await c.kill('SIGKILL');
    await proxy.close();
  });

  after(async () => {
    await aggregator?.close();
    await ingestor?.close();
    await probe?.close();
    for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
  });

  it('(a) Kafka unreachable from the start: selects unaffected, reports 200 SPOOLED, then drained in order, stored and counted once; leases settled', async () => {
    const api = await apiBehindProxy(await newDir());
    const tenant = await createTenant(api);
    const ids = await registerModels(tenant.http, 3);

    // Selects are untouched by Kafka; each opens a lease that its (spooled) report must settle.
    const selections: string[] = [];
    for (let k = 0; k < 6; k++) {
      const sel = await tenant.http.post<{ data: { id: string; selectionId: string } }>('/api/gateway/select-instance', { apiIdentifier: 'gpt4o', apiType: 'MODEL' });
      expect(sel.status).to.equal(200);
      selections.push(sel.body.data.selectionId);
      const rep = await tenant.http.post<{ data: { delivery: string } }>('/api/gateway/report-result', { instanceId: sel.body.data.id, businessId: 'k', selectionId: sel.body.data.selectionId, success: true, latencyMs: 1000 + k });
      expect(rep.status).to.equal(200);
      expect(rep.body.data.delivery).to.equal('SPOOLED');
    }
    expect(await openLeases(probe, names), 'leases settled by spooled reports').to.equal(0);

    const outcomes = await reportSequences(tenant.http, ids, 20);
    expect(outcomes.every((o) => o.status === 200 && o.delivery === 'SPOOLED'), JSON.stringify(outcomes.filter((o) => o.status !== 200).slice(0, 3))).to.equal(true);
    const h = await health(api);
    expect(h.status).to.equal('DEGRADED');
    expect(h.stalled).to.include('kafka');
    expect(h.dependencies.kafka.status).to.equal('DOWN');
    expect(h.dependencies.kafka.spool.records).to.equal(66);
    expect(h.dependencies.kafka.spool.oldestAgeMs).to.be.a('number');
    expect(await metric(api, 'apg_report_spool_records')).to.equal(66);
    expect(await metric(api, 'apg_report_spool_spooled_total')).to.equal(66);
    // Nothing reached Kafka meanwhile.
    expect(await metric(api, 'apg_report_spool_drained_total')).to.equal(0);

    proxy.restore();
    const stored = await expectStoredOnce(probe, tenant.projectId, 66);
    for (const id of ids) expect([...stored.get(id)!].filter((l) => l < 1000).sort((a, b) => a - b)).to.deep.equal(range(0, 20));
    // In order on the topic, per instance (its partition): the spool kept arrival order.
    const order = await topicOrder(probe.kafka, names, 66);
    for (const id of ids) expect(order.get(id)!.filter((l) => l < 1000), `order of ${id}`).to.deep.equal(range(0, 20));
    await waitFor('spool empty and Kafka UP', async () => (await health(api)).dependencies.kafka.status === 'UP', { timeoutMs: 30_000 });
    expect(await metric(api, 'apg_report_spool_drained_total')).to.equal(66);
    expect(await metric(api, 'apg_report_spool_records')).to.equal(0);

    // The aggregator counted each event once.
    for (const id of ids) {
      const expected = 20 + (stored.get(id)!.filter((l) => l >= 1000).length);
      await waitFor(`aggregator counts ${expected} calls of ${id}`, async () => (await readRecord(probe.redis, names, id))?.stats?.calls === expected, { timeoutMs: 30_000 });
      expect(await windowCalls(probe.redis, names, id)).to.equal(expected);
    }
    // New reports go straight to Kafka again.
    const after = await tenant.http.post<{ data: { delivery: string } }>('/api/gateway/report-result', { instanceId: ids[0], businessId: 'k', success: true, latencyMs: 5 });
    expect(after.body.data.delivery).to.equal('KAFKA');
  });

  it('(b) kill -9 while spooling: a second replica on the same dir is refused; the restarted api drains it, exactly once', async () => {
    const dir = await newDir();
    const first = await apiBehindProxy(dir);
    const tenant = await createTenant(first);
    const ids = await registerModels(tenant.http, 2);
    const outcomes = await reportSequences(tenant.http, ids, 25);
    expect(outcomes.filter((o) => o.status === 200 && o.delivery === 'SPOOLED')).to.have.length(50);

    // Two replicas never share a spool: the lock names the live owner and the second one exits.
    const second = spawnService('api', serviceEnv(names, { PORT: '0', HOST: '127.0.0.1', REPORT_SPOOL_DIR: dir, KAFKA_BROKERS: `127.0.0.1:${proxy.port}` }));
    children.push(second);
    expect(await second.exited).to.not.equal(0);
    expect(second.output()).to.contain(`locked by the live process ${first.child.pid}`);

    await first.kill('SIGKILL');
    const restarted = await spawnApi(names, { REPORT_SPOOL_DIR: dir });
    children.push(restarted);
    const stored = await expectStoredOnce(probe, tenant.projectId, 50);
    for (const id of ids) expect([...stored.get(id)!].sort((a, b) => a - b)).to.deep.equal(range(0, 25));
    const order = await topicOrder(probe.kafka, names, 50);
    for (const id of ids) expect(order.get(id)).to.deep.equal(range(0, 25));
    await waitFor('restarted api: spool empty', async () => (await health(restarted)).dependencies.kafka.spool.records === 0, { timeoutMs: 30_000 });
    expect(await metric(restarted, 'apg_report_spool_drained_total')).to.equal(50);
    expect(await metric(restarted, 'apg_report_spool_dropped_total', { reason: 'corrupt' })).to.equal(0);
  });

  it('(c) spool full: 503 REPORT_SPOOL_FULL, selects still 200, nothing already spooled lost', async () => {
    const api = await apiBehindProxy(await newDir(), { REPORT_SPOOL_MAX_BYTES: '8192' });
    const tenant = await createTenant(api);
    const [id] = await registerModels(tenant.http, 1);
    const outcomes = await reportSequences(tenant.http, [id!], 60);
    const taken = outcomes.filter((o) => o.status === 200);
    const refused = outcomes.filter((o) => o.status === 503);
    expect(taken.length).to.be.greaterThan(5);
    expect(refused.length).to.be.greaterThan(0);
    expect(taken.length + refused.length).to.equal(60);
    expect(refused.every((o) => o.errorCode === 'REPORT_SPOOL_FULL')).to.equal(true);
    // Sequential reports: every one after the first refusal is refused too (no hole in the middle of the order).
    expect(outcomes.findIndex((o) => o.status === 503)).to.equal(taken.length);
    const h = await health(api);
    expect(h.dependencies.kafka.spool.bytes).to.be.at.most(8192);
    const sel = await tenant.http.post('/api/gateway/select-instance', { apiIdentifier: 'gpt4o', apiType: 'MODEL' });
    expect(sel.status).to.equal(200);

    proxy.restore();
    const stored = await expectStoredOnce(probe, tenant.projectId, taken.length);
    expect([...stored.get(id!)!].sort((a, b) => a - b)).to.deep.equal(range(0, taken.length));
  });

  it('(d) a torn tail (kill -9 in mid-write): cut and counted, every whole record drained', async () => {
    const dir = await newDir();
    const first = await apiBehindProxy(dir);
    const tenant = await createTenant(first);
    const [id] = await registerModels(tenant.http, 1);
    const outcomes = await reportSequences(tenant.http, [id!], 30);
    expect(outcomes.filter((o) => o.delivery === 'SPOOLED')).to.have.length(30);
    await first.kill('SIGKILL');

    // What a crash in the middle of write(2) leaves at the end of the last segment: part of a frame.
    const segs = (await fs.readdir(dir)).filter((n) => n.startsWith('seg-')).sort();
    const last = path.join(dir, segs.at(-1)!);
    const torn = encodeFrame({ spooledAt: Date.now(), events: [] });
    await fs.appendFile(last, torn.subarray(0, torn.length - 3));

    const restarted = await spawnApi(names, { REPORT_SPOOL_DIR: dir });
    children.push(restarted);
    const stored = await expectStoredOnce(probe, tenant.projectId, 30);
    expect([...stored.get(id!)!].sort((a, b) => a - b)).to.deep.equal(range(0, 30));
    expect(await metric(restarted, 'apg_report_spool_dropped_total', { reason: 'corrupt' })).to.equal(1);
    expect(restarted.output()).to.contain('torn or corrupt frame cut');
  });
  it('(f) age limit: spooled reports older than REPORT_SPOOL_MAX_AGE_MS are dropped and counted, never produced', async () => {
    const api = await apiBehindProxy(await newDir(), { REPORT_SPOOL_MAX_AGE_MS: '1000' });
    const tenant = await createTenant(api);
    const [id] = await registerModels(tenant.http, 1);
    const outcomes = await reportSequences(tenant.http, [id!], 10);
    expect(outcomes.filter((o) => o.delivery === 'SPOOLED')).to.have.length(10);
    // Dropped by the drainer even while Kafka stays down: the space is freed and the drop is visible.
    await waitFor('10 spooled reports expired', async () => (await metric(api, 'apg_report_spool_dropped_total', { reason: 'expired' })) === 10, { timeoutMs: 30_000 });
    expect((await health(api)).dependencies.kafka.spool.records).to.equal(0);

    proxy.restore();
    // Once connected, a fresh report goes straight to Kafka (had it been spooled and waited past 1 s, it would expire too).
    await waitFor('producer connected', async () => (await health(api)).dependencies.kafka.status === 'UP', { timeoutMs: 60_000 });
    const fresh = await reportSequences(tenant.http, [id!], 1, 100);
    expect(fresh[0]).to.deep.include({ status: 200, delivery: 'KAFKA' });
    const stored = await expectStoredOnce(probe, tenant.projectId, 1);
    expect(stored.get(id!)).to.deep.equal([100]);
    expect(await metric(api, 'apg_report_spool_drained_total')).to.equal(0);
    expect(await metric(api, 'apg_report_spool_dropped_total', { reason: 'expired' })).to.equal(10);
  });

  it('(g) local breakers learn from spooled reports: a failing instance is skipped while Kafka is down', async () => {
    const api = await apiBehindProxy(await newDir());
    const tenant = await createTenant(api);
    const [bad, good] = await registerModels(tenant.http, 2);
    for (let k = 0; k < 6; k++) {
      const rep = await tenant.http.post<{ data: { delivery: string } }>('/api/gateway/report-result', { instanceId: bad, businessId: 'k', success: false, latencyMs: 5, errorType: 'UPSTREAM_5XX' });
      expect(rep.status).to.equal(200);
      expect(rep.body.data.delivery).to.equal('SPOOLED');
    }
    for (let k = 0; k < 10; k++) {
      const sel = await tenant.http.post<{ data: { id: string } }>('/api/gateway/select-instance', { apiIdentifier: 'gpt4o', apiType: 'MODEL', strategy: 'ROUND_ROBIN' });
      expect(sel.status).to.equal(200);
      expect(sel.body.data.id, 'the failing instance is skipped').to.equal(good);
    }
  });
});
