import { expect } from 'chai';
import { initialBreaker, type BreakerState } from '@apg/core';
import type { HttpClient, HttpResult } from '../http-client';
import { openProbe, startApi, stackNames, type Probe, type StackNames } from '../stack';

/**
 * Contract tests of `/api/admin/monitoring/**` and `/api/admin/observation/**` on the real Postgres and
 * Redis: instances are registered over HTTP, minute rollups are inserted with SQL for known minutes,
 * breaker states are written to Redis and loaded with POST /refresh.
 *
 * The database is shared with the other suites of the run, so exact figures are asserted per project;
 * the unfiltered views are checked for containing ours.
 */

interface Env<T = Record<string, unknown>> {
  code: number;
  message: string;
  data?: T;
  timestamp: number;
  errorCode?: string;
  errors?: { field: string; message: string }[];
}
type Point = { time: string; value: number };
type Series = { callVolume: Point[]; successRate: Point[]; latency: Point[] };
type Row = Record<string, unknown> & { instanceId: string };
interface Rollup { id: string; project: string; minute: number; calls: number; failures: number; latency: number }

const MIN = 60_000;
const alignDown = (t: number, step: number) => Math.floor(t / step) * step;
const isoOf = (t: number) => new Date(t).toISOString();
const ISO_WITH_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00\.000Z$/;

const ENVELOPE_KEYS = ['code', 'message', 'data', 'timestamp'];
const ERROR_KEYS = ['code', 'message', 'errorCode', 'errors', 'timestamp'];

/** HTTP 200 = code 200, the seed's message, JSON, only envelope keys; returns `data`. */
function expectOk<T>(res: HttpResult<Env<T>>, message: string): T {
  expect(res.status, res.text).to.equal(200);
  expect(res.headers.get('content-type')).to.match(/^application\/json/);
  expect(res.body.code).to.equal(200);
  expect(res.body.message).to.equal(message);
  expect(res.body.timestamp).to.be.a('number').that.is.closeTo(Date.now(), 60_000);
  expect(Object.keys(res.body).filter((k) => !ENVELOPE_KEYS.includes(k))).to.deep.equal([]);
  return res.body.data as T;
}

/** HTTP status = code, the stable errorCode, no data, only error keys. */
function expectError(res: HttpResult<Env<unknown>>, status: number, errorCode: string, message?: RegExp): void {
  expect(res.status, res.text).to.equal(status);
  expect(res.body.code).to.equal(status);
  expect(res.body.errorCode).to.equal(errorCode);
  expect(res.body.message).to.be.a('string').and.not.empty;
  expect(res.body.timestamp).to.be.a('number').that.is.closeTo(Date.now(), 60_000);
  expect(Object.keys(res.body).filter((k) => !ERROR_KEYS.includes(k))).to.deep.equal([]);
  if (message) expect(res.body.message).to.match(message);
}

/** The test's own oracle for a series: group, weight, sort, drop empty buckets. */
function expectedSeries(rows: Rollup[], bucketMs: number): Series {
  const buckets = new Map<number, { calls: number; failures: number; latency: number }>();
  for (const r of rows) {
    const k = alignDown(r.minute, bucketMs);
    const b = buckets.get(k) ?? { calls: 0, failures: 0, latency: 0 };
    buckets.set(k, { calls: b.calls + r.calls, failures: b.failures + r.failures, latency: b.latency + r.latency });
  }
  const keys = [...buckets.keys()].sort((a, b) => a - b);
  const at = (k: number) => buckets.get(k)!;
  return {
    callVolume: keys.map((k) => ({ time: isoOf(k), value: at(k).calls })),
    successRate: keys.map((k) => ({ time: isoOf(k), value: (100 * (at(k).calls - at(k).failures)) / at(k).calls })),
    latency: keys.map((k) => ({ time: isoOf(k), value: at(k).latency / at(k).calls })),
  };
}

describe('admin monitoring and observation (real Postgres, Redis)', function () {
  this.timeout(60_000);
  let names: StackNames;
  let probe: Probe;
  let api: Awaited<ReturnType<typeof startApi>>;
  let admin: HttpClient;
  let projectA = '';
  let projectB = '';
  const id: Record<'a1' | 'a2' | 'a3' | 'a4' | 'b1', string> = { a1: '', a2: '', a3: '', a4: '', b1: '' };
  // X is 5-minute aligned and within the last 10 minutes: A's weighted pair lives there.
  // Set in before(), not when mocha loads the file: in a full run this suite starts minutes after loading, and
  // X computed at load time could already have left the 10-minute window.
  let now0 = 0;
  let X = 0;
  let W = 0;
  let Y = 0;
  let Z = 0;
  let rollups: Rollup[] = [];
  const ofA = () => rollups.filter((r) => r.project === projectA && r.minute <= Date.now());

  const get = <T>(path: string) => admin.get<Env<T>>(path);

  async function register(name: string, instances: { businessId: string; routingParams?: Record<string, unknown> }[]) {
    const key = await admin.post<Env<{ apiKeyValue: string }>>('/api/admin/apikeys', { description: name });
    const apiKey = key.body.data!.apiKeyValue;
    const tenant = api.http.with({ 'api-key': apiKey });
    const project = await tenant.post<Env<{ id: string }>>('/api/projects', { name, apiKey });
    expect(project.status, project.text).to.equal(200);
    const batch = await tenant.post<Env<{ id: string; businessId: string }[]>>('/api/instances/batch', {
      instances: instances.map((i) => ({ apiIdentifier: 'gpt4o', apiType: 'MODEL', ...i })),
    });
    expect(batch.status, batch.text).to.equal(200);
    const byBusiness = new Map(batch.body.data!.map((d) => [d.businessId, d.id]));
    return { projectId: project.body.data!.id, idOf: (b: string) => byBusiness.get(b)! };
  }

  before(async () => {
    now0 = Date.now();
    X = alignDown(now0, 5 * MIN) - 5 * MIN;
    W = X - 30 * MIN;
    Y = alignDown(X, 240 * MIN) - 8 * 60 * MIN;
    Z = alignDown(X, 240 * MIN) - 2 * 24 * 60 * MIN;
    names = stackNames();
    probe = await openProbe(names);
    api = await startApi(names);
    admin = api.admin;

    const a = await register('monitoring-A', [
      { businessId: 'a1', routingParams: { priority: 2, costPerUnit: 0.5, weight: 3 } },
      { businessId: 'a2' },
      { businessId: 'a3' },
      { businessId: 'a4' },
    ]);
    const b = await register('monitoring-B', [{ businessId: 'b1' }]);
    projectA = a.projectId;
    projectB = b.projectId;
    for (const k of ['a1', 'a2', 'a3', 'a4'] as const) id[k] = a.idOf(k);
    id.b1 = b.idOf('b1');
    await probe.db.query('test.deactivate', `UPDATE api_instances SET status = 'INACTIVE' WHERE id = $1`, [id.a4]);
    // Rows written before the api bounded routingParams (it now answers 400 to these): the view still shows them.
    const stored = { a2: { priority: 1.5, cost_per_unit: 2, initial_weight: 7 }, a3: { priority: 3_000_000_000, costPerUnit: '0.25', weight: 'heavy' } };
    for (const [k, params] of Object.entries(stored)) {
      await probe.db.query('test.old_routing_params', 'UPDATE api_instances SET routing_params = $2::jsonb WHERE id = $1', [id[k as 'a2' | 'a3'], JSON.stringify(params)]);
    }

    rollups = [
      { id: id.a1, project: projectA, minute: X, calls: 1, failures: 1, latency: 1000 },
      { id: id.a2, project: projectA, minute: X + MIN, calls: 99, failures: 0, latency: 990 },
      { id: id.a1, project: projectA, minute: W, calls: 10, failures: 5, latency: 500 },
      { id: id.a3, project: projectA, minute: Y, calls: 4, failures: 0, latency: 40 },
      { id: id.a3, project: projectA, minute: Z, calls: 6, failures: 3, latency: 600 },
      // Stamped in the future by a skewed caller clock: never part of "recent" figures.
      { id: id.a2, project: projectA, minute: alignDown(now0, MIN) + 30 * MIN, calls: 1000, failures: 1000, latency: 1 },
      { id: id.b1, project: projectB, minute: X, calls: 50, failures: 25, latency: 5000 },
    ];
    await probe.db.query(
      'test.rollups',
      `INSERT INTO call_rollups_minute (instance_id, project_id, minute, calls, failures, latency_sum_ms, latency_max_ms)
       SELECT r.id, r.project, to_timestamp(r.minute / 1000.0), r.calls, r.failures, r.latency, 0
         FROM jsonb_to_recordset($1::jsonb) AS r(id text, project text, minute bigint, calls int, failures int, latency int)`,
      [JSON.stringify(rollups)],
    );

    const snap = (state: BreakerState, degraded = false) => JSON.stringify({ ...initialBreaker(Date.now()), state, degraded });
    await probe.redis.hset(`${names.redisPrefix}breaker-states`, {
      [id.a1]: snap('OPEN'), [id.a2]: snap('CLOSED', true), [id.a3]: snap('FORCED_CLOSED'), [id.b1]: snap('FORCED_OPEN'),
    });
    const refreshed = expectOk(await admin.post<Env<{ refreshedAt: string }>>('/api/admin/monitoring/refresh'), '监控数据刷新成功');
    expect(Date.parse(refreshed.refreshedAt)).to.be.closeTo(Date.now(), 10_000);
  });

  after(async () => {
    await api?.close();
    const kafkaAdmin = probe.kafka.admin();
    await kafkaAdmin.connect();
    await kafkaAdmin.deleteTopics({ topics: [names.topic, names.dlqTopic] }).catch(() => undefined);
    await kafkaAdmin.disconnect();
    await probe?.close();
  });

  it('requires the admin credential on both prefixes', async () => {
    for (const path of ['/api/admin/monitoring/overview', '/api/admin/observation/overview?timeWindow=1h']) {
      expectError(await api.http.get<Env>(path), 401, 'UNAUTHORIZED');
      expectError(await api.http.get<Env>(path, { authorization: 'Bearer wrong' }), 401, 'UNAUTHORIZED');
    }
  });

  it('GET /monitoring/overview: weighted over the last 10 minutes, healthy by current breaker state', async () => {
    const o = expectOk(await get(`/api/admin/monitoring/overview?projectId=${projectA}`), '监控概览数据获取成功');
    // a1: 1 call at 0 %, a2: 99 calls at 100 % → 99 % (the seed's mean of means would say 50 %).
    expect(o).to.deep.equal({ totalInstances: 4, healthyInstances: 2, activeInstances: 3, averageSuccessRate: 99, averageLatency: 19.9, totalCalls: 100 });

    const b = expectOk(await get(`/api/admin/monitoring/overview?projectId=${projectB}`), '监控概览数据获取成功');
    expect(b).to.deep.equal({ totalInstances: 1, healthyInstances: 0, activeInstances: 1, averageSuccessRate: 50, averageLatency: 100, totalCalls: 50 });

    const none = expectOk(await get('/api/admin/monitoring/overview?projectId=ffffffffffffffffffffffffffffffff'), '监控概览数据获取成功');
    expect(none).to.deep.equal({ totalInstances: 0, healthyInstances: 0, activeInstances: 0, averageSuccessRate: 0, averageLatency: 0, totalCalls: 0 });

    const all = expectOk<Record<string, number>>(await get('/api/admin/monitoring/overview'), '监控概览数据获取成功');
    expect(all['totalInstances']).to.be.at.least(5);
    expect(all['totalCalls']).to.be.at.least(150);
  });

  it('GET /monitoring/instances: every seed field, tolerant routing params, one row per instance', async () => {
    const list = expectOk<Row[]>(await get(`/api/admin/monitoring/instances?projectId=${projectA}`), '实例监控列表获取成功');
    expect(list.map((r) => r.instanceId).sort()).to.deep.equal([id.a1, id.a2, id.a3, id.a4].sort());
    const by = new Map(list.map((r) => [r.instanceId, r]));
    const common = { projectId: projectA, projectName: 'monitoring-A', apiIdentifier: 'gpt4o', apiType: 'MODEL', concurrency: 0 };
    expect(by.get(id.a1)).to.deep.equal({
      ...common, instanceId: id.a1, businessId: 'a1', status: 'ACTIVE', gatewayStatus: 'CIRCUIT_BREAKER_OPEN',
      successRate: 0, failureRate: 100, averageLatency: 1000, recentCalls: 1, successCount: 0, failureCount: 1,
      lastReportedAt: isoOf(X), priority: 2, costPerUnit: 0.5, weight: 3,
    });
    expect(by.get(id.a2)).to.deep.equal({
      ...common, instanceId: id.a2, businessId: 'a2', status: 'ACTIVE', gatewayStatus: 'DEGRADED',
      successRate: 100, failureRate: 0, averageLatency: 10, recentCalls: 99, successCount: 99, failureCount: 0,
      lastReportedAt: isoOf(X + MIN), priority: 1.5, costPerUnit: 2, weight: 7,
    });
    expect(by.get(id.a3)).to.deep.equal({
      ...common, instanceId: id.a3, businessId: 'a3', status: 'ACTIVE', gatewayStatus: 'HEALTHY',
      successRate: 0, failureRate: 0, averageLatency: 0, recentCalls: 0, successCount: 0, failureCount: 0,
      lastReportedAt: isoOf(Y), priority: 3_000_000_000, costPerUnit: 0.25, weight: 1,
    });
    expect(by.get(id.a4)).to.deep.equal({
      ...common, instanceId: id.a4, businessId: 'a4', status: 'INACTIVE', gatewayStatus: 'HEALTHY',
      successRate: 0, failureRate: 0, averageLatency: 0, recentCalls: 0, successCount: 0, failureCount: 0,
      priority: 0, costPerUnit: 0, weight: 1,
    });
  });

  it('GET /monitoring/instances: status and gatewayStatus filters, bad values are 400', async () => {
    const ids = async (q: string) => (expectOk<Row[]>(await get(`/api/admin/monitoring/instances?${q}`), '实例监控列表获取成功')).map((r) => r.instanceId).sort();
    expect(await ids(`projectId=${projectA}&status=INACTIVE`)).to.deep.equal([id.a4]);
    expect(await ids(`projectId=${projectA}&gatewayStatus=HEALTHY`)).to.deep.equal([id.a3, id.a4].sort());
    expect(await ids(`projectId=${projectA}&status=ACTIVE&gatewayStatus=HEALTHY`)).to.deep.equal([id.a3]);
    expect(await ids('gatewayStatus=DEGRADED')).to.deep.equal([id.a2]);
    expect(await ids('gatewayStatus=CIRCUIT_BREAKER_OPEN')).to.deep.equal([id.a1, id.b1].sort());
    expect(await ids(`projectId=${projectA}&gatewayStatus=FAULTY`)).to.deep.equal([]);

    const bad = await get('/api/admin/monitoring/instances?status=FOO');
    expectError(bad, 400, 'VALIDATION_FAILED', /status must be one of ACTIVE, INACTIVE, DEPRECATED/);
    expect(bad.body.errors).to.deep.equal([{ field: 'status', message: 'status must be one of ACTIVE, INACTIVE, DEPRECATED' }]);
    expectError(await get('/api/admin/monitoring/instances?gatewayStatus=healthy'), 400, 'VALIDATION_FAILED', /gatewayStatus must be one of HEALTHY, DEGRADED, FAULTY, CIRCUIT_BREAKER_OPEN/);
  });

  it('GET /monitoring/timeseries: aligned, weighted, date-carrying buckets for every range', async () => {
    const series = async (range: string, project = projectA) =>
      expectOk<Series>(await get(`/api/admin/monitoring/timeseries?timeRange=${range}&projectId=${project}`), '时间序列数据获取成功');

    // 1h, 5-minute buckets: the weighted pair at X (99 %, not 50 %) and a1's older minute at W.
    expect(await series('1h')).to.deep.equal({
      callVolume: [{ time: isoOf(W), value: 10 }, { time: isoOf(X), value: 100 }],
      successRate: [{ time: isoOf(W), value: 50 }, { time: isoOf(X), value: 99 }],
      latency: [{ time: isoOf(W), value: 50 }, { time: isoOf(X), value: 19.9 }],
    });
    expect(await series('6h')).to.deep.equal(expectedSeries(ofA().filter((r) => r.minute >= W), 15 * MIN));
    const day = await series('24H');
    expect(day).to.deep.equal(expectedSeries(ofA().filter((r) => r.minute >= Y), 60 * MIN));
    const week = await series('7d');
    expect(week).to.deep.equal(expectedSeries(ofA(), 240 * MIN));

    for (const [s, bucket] of [[day, 60 * MIN], [week, 240 * MIN]] as const) {
      const times = s.callVolume.map((p) => p.time);
      for (const t of times) {
        expect(t).to.match(ISO_WITH_DATE);
        expect(Date.parse(t) % bucket, `${t} aligned to ${bucket / MIN} min`).to.equal(0);
      }
      expect(new Set(times).size, 'labels never repeat').to.equal(times.length);
      expect([...times].sort()).to.deep.equal(times);
    }
    // Z is two days before X: the 7-day labels carry different dates.
    expect(new Set(week.callVolume.map((p) => p.time.slice(0, 10))).size).to.be.at.least(2);
    expect(week.callVolume[0]).to.deep.equal({ time: isoOf(Z), value: 6 });

    const empty = await series('7d', 'ffffffffffffffffffffffffffffffff');
    expect(empty).to.deep.equal({ callVolume: [], successRate: [], latency: [] });
  });

  it('GET /monitoring/timeseries: missing or unknown timeRange is 400 naming the allowed values', async () => {
    expectError(await get('/api/admin/monitoring/timeseries'), 400, 'VALIDATION_FAILED', /timeRange is required \(one of 1h, 6h, 24h, 7d\)/);
    expectError(await get('/api/admin/monitoring/timeseries?timeRange=2h'), 400, 'VALIDATION_FAILED', /timeRange must be one of 1h, 6h, 24h, 7d/);
    expectError(await get('/api/admin/monitoring/timeseries?timeRange=1h&timeRange=6h'), 400, 'VALIDATION_FAILED', /at most once/);
  });

  it('GET /monitoring/statistics/status: counts per gateway and instance status', async () => {
    const s = expectOk(await get(`/api/admin/monitoring/statistics/status?projectId=${projectA}`), '实例状态统计获取成功');
    expect(s).to.deep.equal({
      totalInstances: 4,
      byGatewayStatus: { HEALTHY: 2, DEGRADED: 1, FAULTY: 0, CIRCUIT_BREAKER_OPEN: 1 },
      byInstanceStatus: { ACTIVE: 3, INACTIVE: 1, DEPRECATED: 0 },
    });
  });

  it('POST /monitoring/refresh picks up a breaker change written to Redis', async () => {
    await probe.redis.hset(`${names.redisPrefix}breaker-states`, id.a3, JSON.stringify({ ...initialBreaker(Date.now()), state: 'HALF_OPEN' }));
    expectOk(await admin.post<Env>('/api/admin/monitoring/refresh?projectId=x'), '监控数据刷新成功');
    const list = expectOk<Row[]>(await get(`/api/admin/monitoring/instances?projectId=${projectA}&gatewayStatus=CIRCUIT_BREAKER_OPEN`), '实例监控列表获取成功');
    expect(list.map((r) => r.instanceId).sort()).to.deep.equal([id.a1, id.a3].sort());
    await probe.redis.hset(`${names.redisPrefix}breaker-states`, id.a3, JSON.stringify({ ...initialBreaker(Date.now()), state: 'FORCED_CLOSED' }));
    expectOk(await admin.post<Env>('/api/admin/monitoring/refresh'), '监控数据刷新成功');
  });

  it('GET /observation/overview: weighted, every status counted, gatewayStatus filter honoured', async () => {
    const overview = async (q: string) => expectOk(await get(`/api/admin/observation/overview?projectId=${projectA}&${q}`), '观测概览数据获取成功');
    expect(await overview('timeWindow=10m')).to.deep.equal({
      totalInstances: 4, healthyInstances: 2, activeInstances: 3, faultyInstances: 0, circuitBreakerInstances: 1,
      degradedInstances: 1, totalCallCount: 100, averageSuccessRate: 99, averageLatency: 19.9,
    });
    // 1H (any case) adds a1's minute at W: 110 calls, 104 good.
    expect(await overview('timeWindow=1H')).to.include({ totalCallCount: 110, averageSuccessRate: (100 * 104) / 110, averageLatency: 2490 / 110 });
    expect(await overview('timeWindow=24h')).to.include({ totalCallCount: 114, averageSuccessRate: (100 * 108) / 114 });
    expect(await overview('timeWindow=10m&gatewayStatus=CIRCUIT_BREAKER_OPEN')).to.deep.equal({
      totalInstances: 1, healthyInstances: 0, activeInstances: 1, faultyInstances: 0, circuitBreakerInstances: 1,
      degradedInstances: 0, totalCallCount: 1, averageSuccessRate: 0, averageLatency: 1000,
    });
    expect(await overview('timeWindow=10m&instanceStatus=INACTIVE')).to.include({ totalInstances: 1, activeInstances: 0, totalCallCount: 0 });
  });

  it('GET /observation/instances: the seed fields plus instanceId', async () => {
    const list = expectOk<Row[]>(await get(`/api/admin/observation/instances?timeWindow=1h&projectId=${projectA}`), '实例观测列表获取成功');
    expect(list).to.have.length(4);
    const by = new Map(list.map((r) => [r.instanceId, r]));
    expect(by.get(id.a1)).to.deep.equal({
      instanceId: id.a1, projectId: projectA, projectName: 'monitoring-A', apiIdentifier: 'gpt4o', apiType: 'MODEL', businessId: 'a1',
      instanceStatus: 'ACTIVE', gatewayStatus: 'CIRCUIT_BREAKER_OPEN', callCount: 11, successRate: (100 * 5) / 11, averageLatency: 1500 / 11,
      lastActiveTime: isoOf(X),
    });
    const inactive = expectOk<Row[]>(await get(`/api/admin/observation/instances?timeWindow=1m&projectId=${projectA}&instanceStatus=INACTIVE`), '实例观测列表获取成功');
    expect(inactive).to.deep.equal([{
      instanceId: id.a4, projectId: projectA, projectName: 'monitoring-A', apiIdentifier: 'gpt4o', apiType: 'MODEL', businessId: 'a4',
      instanceStatus: 'INACTIVE', gatewayStatus: 'HEALTHY', callCount: 0, successRate: 0, averageLatency: 0,
    }]);
    const degraded = expectOk<Row[]>(await get('/api/admin/observation/instances?timeWindow=30m&gatewayStatus=DEGRADED'), '实例观测列表获取成功');
    expect(degraded.map((r) => r.instanceId)).to.deep.equal([id.a2]);
  });

  it('observation: missing or unknown timeWindow and bad filters are 400', async () => {
    for (const path of ['/api/admin/observation/overview', '/api/admin/observation/instances']) {
      expectError(await get(path), 400, 'VALIDATION_FAILED', /timeWindow is required \(one of 1m, 10m, 30m, 1h, 6h, 24h\)/);
      expectError(await get(`${path}?timeWindow=5m`), 400, 'VALIDATION_FAILED', /timeWindow must be one of 1m, 10m, 30m, 1h, 6h, 24h/);
      expectError(await get(`${path}?timeWindow=1h&instanceStatus=active`), 400, 'VALIDATION_FAILED', /instanceStatus must be one of/);
      expectError(await get(`${path}?timeWindow=1h&gatewayStatus=OPEN`), 400, 'VALIDATION_FAILED', /gatewayStatus must be one of/);
    }
  });

  it('wrong methods are 405, unknown paths 404, and no input gives a 5xx', async () => {
    expectError(await admin.post<Env>('/api/admin/monitoring/overview'), 405, 'METHOD_NOT_ALLOWED');
    expectError(await get('/api/admin/monitoring/refresh'), 405, 'METHOD_NOT_ALLOWED');
    expectError(await admin.post<Env>('/api/admin/observation/instances?timeWindow=1h'), 405, 'METHOD_NOT_ALLOWED');
    expectError(await get('/api/admin/monitoring/nope'), 404, 'NOT_FOUND');

    const paths = ['/api/admin/monitoring/overview', '/api/admin/monitoring/instances', '/api/admin/monitoring/timeseries', '/api/admin/monitoring/statistics/status', '/api/admin/observation/overview', '/api/admin/observation/instances'];
    const queries = [
      'projectId=%00', 'projectId=a%00b&timeRange=1h&timeWindow=1h', `projectId=${'x'.repeat(5000)}`, 'projectId=%E2%98%83&timeRange=7d&timeWindow=24h',
      'projectId[]=a&timeRange=1h&timeWindow=1h', 'projectId=a&projectId=b', 'timeRange=%F0%9F%92%A5&timeWindow=%F0%9F%92%A5', 'status=%27%3B%20DROP%20TABLE%20x%3B--',
      'timeRange[a]=1h&timeWindow[a]=1h', 'timeRange=&timeWindow=&status=&gatewayStatus=&instanceStatus=', 'timeWindow=%20%201H%20&timeRange=%206h%20', 'projectId=%ZZ',
    ];
    for (const p of paths) {
      for (const q of queries) {
        const res = await get(`${p}?${q}`);
        expect(res.status, `${p}?${q.slice(0, 60)} → ${res.text.slice(0, 200)}`).to.be.oneOf([200, 400]);
        expect(res.body.code).to.equal(res.status);
        if (res.status === 400) expect(res.body.errorCode).to.equal('VALIDATION_FAILED');
      }
    }
  });
});
