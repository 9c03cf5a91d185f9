// `npm run bench:ha` (issue 12, README "Running at scale"): figures of the HA stack on this machine —
// selects/s per api replica (each alone, then both at once), events/s per ingestor (a backlog drained by one
// ingestor, then by two), and how long a Redis primary and a partition-leading Kafka broker take to fail
// over (kill -9 → the first write that succeeds again). The stack runs on free ports, beside anything else.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { createDb, createRedis, dropTestDatabase, ensureDatabase, runMigrations } from '@apg/platform';
import { createTenant, freePort, HaStack, HttpClient, type HaPorts } from '@apg/testkit';
import { runLoad, type LoadResult } from './load';

const ADMIN_TOKEN = 'bench-ha-admin-token-0123456789';
const SELECT_S = Number(process.env['BENCH_HA_SELECT_S'] ?? 10);
const BACKLOG = Number(process.env['BENCH_HA_BACKLOG'] ?? 12_000);
const say = (msg: string) => console.log(`bench:ha: ${msg}`);
const int = (n: number) => Math.round(n).toLocaleString('en-US');

async function distinctFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Polls `check` every 2 ms until it holds; the time it took, in ms (fractional). */
async function timeUntil(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<number> {
  const t = performance.now();
  while (!(await check())) {
    if (performance.now() - t > timeoutMs) throw new Error(`not seen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
  return performance.now() - t;
}

/**
 * How fast the two api replicas agree (issue 12: "a registration visible on the other replica in 28 ms, a
 * breaker in 44 ms, a revoked key refused in 5 ms — keep that"), through the Sentinel-managed Redis: a change
 * made through replica 1, polled for through replica 2. Five trials of each.
 */
async function agreement(apiPorts: number[], tenant: { apiKey: string; projectId: string }, row: (what: string, figure: string) => void): Promise<void> {
  const one = new HttpClient(`http://127.0.0.1:${apiPorts[0]}`);
  const two = new HttpClient(`http://127.0.0.1:${apiPorts[1]}`);
  const admin1 = one.with({ authorization: `Bearer ${ADMIN_TOKEN}` });
  const select = (http: HttpClient, key: string, apiIdentifier: string) =>
    http.with({ 'api-key': key }).post<{ data?: { id: string } }>('/api/gateway/select-instance', { apiType: 'MODEL', apiIdentifier });
  const registered: number[] = [];
  const forced: number[] = [];
  const revoked: number[] = [];
  for (let i = 0; i < 5; i++) {
    const id = `agree-${i}-${Date.now().toString(36)}`;
    await select(two, tenant.apiKey, id); // replica 2 has looked the identifier up (and found nothing) before
    const t = performance.now();
    const reg = await one.with({ 'api-key': tenant.apiKey }).post<{ data: { id: string } }>('/api/instances', { apiType: 'MODEL', apiIdentifier: id, businessId: id });
    const instanceId = reg.body.data.id;
    const after = performance.now() - t;
    registered.push(after + await timeUntil(async () => (await select(two, tenant.apiKey, id)).status === 200));

    const t2 = performance.now();
    await admin1.post(`/api/admin/instances/${instanceId}/breaker`, { mode: 'FORCED_OPEN' });
    const after2 = performance.now() - t2;
    forced.push(after2 + await timeUntil(async () => (await select(two, tenant.apiKey, id)).status !== 200));

    const key = await admin1.post<{ data: { id: string; apiKeyValue: string } }>(`/api/admin/projects/${tenant.projectId}/keys`, { description: `agreement ${i}` });
    const { id: keyId, apiKeyValue } = key.body.data;
    await timeUntil(async () => (await select(two, apiKeyValue, 'bench')).status === 200);
    const t3 = performance.now();
    await admin1.put(`/api/admin/apikeys/${keyId}/status`, { status: 'REVOKED' });
    const after3 = performance.now() - t3;
    revoked.push(after3 + await timeUntil(async () => (await select(two, apiKeyValue, 'bench')).status === 401));
  }
  const fmt = (xs: number[]) => `median ${median(xs).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms (5 trials, from the request on replica 1)`;
  row('instance registered on replica 1 → selected through replica 2', fmt(registered));
  row('breaker forced open on replica 1 → skipped by replica 2', fmt(forced));
  row('key revoked on replica 1 → refused (401) by replica 2', fmt(revoked));
}

async function main(): Promise<void> {
  const p = await distinctFreePorts(17);
  const ports: HaPorts = {
    kafka: p.slice(0, 3), kafkaControllers: p.slice(3, 6), redis: [p[6]!, p[7]!], sentinels: [p[8]!, p[9]!, p[10]!],
    api: [p[11]!, p[12]!], ingestor: [p[13]!, p[14]!], aggregator: [p[15]!, p[16]!],
  };
  const dir = mkdtempSync(path.join(tmpdir(), 'apg-bench-ha-'));
  const dbUrl = new URL(process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  dbUrl.pathname = `/apg_test_bench_ha_${Date.now().toString(36)}`;
  const databaseUrl = dbUrl.toString();
  await ensureDatabase(databaseUrl);
  await runMigrations(databaseUrl);
  const stack = new HaStack({ ports, dir, databaseUrl, adminToken: ADMIN_TOKEN, say, serviceEnv: { LOG_LEVEL: 'warn', QUOTA_SELECTS_PER_SECOND: '1000000' } });
  const rows: [string, string][] = [];
  const row = (what: string, figure: string) => {
    rows.push([what, figure]);
    say(`${what}: ${figure}`);
  };
  try {
    const t0 = Date.now();
    await stack.start();
    await stack.waitReady(300_000);
    row('start:ha topology ready (3 brokers, Redis + replica + 3 Sentinels, 2+2+2 services)', `${int(Date.now() - t0)} ms`);

    const api = new HttpClient(`http://127.0.0.1:${ports.api[0]}`);
    const tenant = await createTenant({ http: api, admin: api.with({ authorization: `Bearer ${ADMIN_TOKEN}` }) }, `bench-ha-${Date.now().toString(36)}`);
    const reg = await tenant.http.post<{ data: { id: string; businessId: string }[] }>('/api/instances/batch', {
      instances: Array.from({ length: 10 }, (_, i) => ({ apiType: 'MODEL', apiIdentifier: 'bench', businessId: `bench-${i}` })),
    });
    const instances = reg.body.data;
    const selectLoad = (port: number): Promise<LoadResult> => runLoad({
      port, path: '/api/gateway/select-instance', headers: { 'api-key': tenant.apiKey }, connections: 50, durationS: SELECT_S,
      body: () => JSON.stringify({ apiType: 'MODEL', apiIdentifier: 'bench' }),
    });
    for (const [i, port] of ports.api.entries()) {
      const r = await selectLoad(port);
      row(`selects/s, api replica ${i + 1} alone (50 connections)`, `${int(r.okPerSec)} (p99 ${r.p99.toFixed(1)} ms, ${r.non2xx + r.errors} not 200)`);
    }
    const both = await Promise.all(ports.api.map((port) => selectLoad(port)));
    row('selects/s, both replicas at once (50 connections each)', `${both.map((r) => int(r.okPerSec)).join(' + ')} = ${int(both.reduce((s, r) => s + r.okPerSec, 0))}`);

    await agreement(ports.api, tenant, row);

    // Ingestion: a backlog produced through both replicas with the ingestors stopped, then drained.
    const db = createDb(databaseUrl, { max: 2 });
    const count = async () => Number((await db.query<{ n: string }>('bench.count', 'SELECT count(*) AS n FROM call_results WHERE project_id = $1', [tenant.projectId])).rows[0]!.n);
    const reportLoad = (port: number, amount: number) => runLoad({
      port, path: '/api/gateway/report-result', headers: { 'api-key': tenant.apiKey }, connections: 25, amount,
      body: () => {
        const inst = instances[Math.floor(Math.random() * instances.length)]!;
        return JSON.stringify({ instanceId: inst.id, businessId: inst.businessId, success: Math.random() > 0.1, latencyMs: 20 });
      },
    });
    for (const consumers of [1, 2]) {
      const ingestors = stack.services.filter((s) => s.kind === 'ingestor');
      await Promise.all(ingestors.map((s) => s.process.kill('SIGTERM')));
      const before = await count();
      const produced = await Promise.all(ports.api.map((port) => reportLoad(port, BACKLOG / 2)));
      const ok = produced.reduce((s, r) => s + r.ok, 0);
      row(`HTTP reports/s into the 3-broker topic (acks=all, RF 3), both replicas`, `${int(produced.reduce((s, r) => s + r.okPerSec, 0))} (${int(ok)} acknowledged)`);
      for (const s of ingestors.slice(0, consumers)) s.process.start();
      let first = 0;
      const target = before + ok;
      for (;;) {
        const n = await count();
        if (n > before && first === 0) first = Date.now();
        if (n >= target) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const seconds = (Date.now() - first) / 1000;
      row(`backlog of ${int(ok)} events drained by ${consumers} ingestor${consumers > 1 ? 's' : ''} (6 partitions)`, `${int(ok / seconds)} events/s = ${int(ok / seconds / consumers)} per ingestor`);
    }
    for (const s of stack.services.filter((x) => x.kind === 'ingestor')) if (!s.process.running) s.process.start();
    await db.close();

    // Failover: Redis primary (Sentinels promote the replica) and the broker leading a partition.
    const redis = createRedis({ kind: 'sentinel', sentinels: ports.sentinels.map((port) => ({ host: '127.0.0.1', port })), name: stack.redis.name });
    await redis.set('bench:probe', '0');
    let t = Date.now();
    const old = await stack.redis.killPrimary();
    for (;;) {
      try {
        await redis.set('bench:probe', '1');
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    row('Redis primary kill -9 → first write through Sentinels (down-after 2 s)', `${int(Date.now() - t)} ms`);
    redis.disconnect();
    await stack.redis.restartServer(old);

    const kafka = new Kafka({ clientId: 'bench-ha', brokers: stack.kafka.brokerList.split(','), logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    const admin = kafka.admin();
    await admin.connect();
    // waitForLeaders can ask a broker that has not heard of the topic yet: retried below by the first send.
    await admin.createTopics({ waitForLeaders: false, topics: [{ topic: 'bench.failover', numPartitions: 1, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }] });
    await admin.disconnect();
    const producer = kafka.producer({ maxInFlightRequests: 1 });
    await producer.connect();
    for (let i = 0; ; i++) {
      try {
        await producer.send({ topic: 'bench.failover', acks: -1, messages: [{ value: 'warm' }] });
        break;
      } catch (err) {
        if (i > 50) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const leader = await stack.kafka.leaderOf('bench.failover', 0);
    t = Date.now();
    await stack.kafka.kill(leader);
    for (;;) {
      try {
        await producer.send({ topic: 'bench.failover', acks: -1, timeout: 2000, messages: [{ value: 'after' }] });
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    row('leading broker kill -9 → first acks=all produce to its partition', `${int(Date.now() - t)} ms`);
    await producer.disconnect();
    stack.kafka.restart(leader);
  } finally {
    await stack.stop();
    await dropTestDatabase(databaseUrl).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
  const w = Math.max(...rows.map(([k]) => k.length));
  console.log('\n| what | figure |\n|---|---|');
  for (const [k, v] of rows) console.log(`| ${k.padEnd(w)} | ${v} |`);
}

main().catch((err: Error) => {
  console.error(`bench:ha: ${err.stack ?? err.message}`);
  process.exit(1);
});
