import http from 'node:http';
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { ADMIN_TOKEN, openProbe, startApi, stackNames, type Probe } from '../stack';
import { HttpClient } from '../http-client';
import { waitFor } from '../wait-for';

/**
 * The console's server side on the real api: login for a session cookie (and its refusals and throttle),
 * the same-site check on cookie writes, only a hash in Redis, logout everywhere, the CSP on /console, the
 * admin writes and playground the screens use, and the live breaker stream.
 */
describe('console: sessions, CSRF, CSP and the console routes', function () {
  this.timeout(60_000);
  let api: Awaited<ReturnType<typeof startApi>>;
  let probe: Probe;
  let names: ReturnType<typeof stackNames>;

  before(async () => {
    names = stackNames();
    probe = await openProbe(names);
    api = await startApi(names, { console: { loginBurst: 6, loginPerMinute: 1 } });
  });
  after(async () => {
    await api?.close();
    await probe?.close();
  });

  const cookieOf = (res: { headers: Headers }) => {
    const set = res.headers.get('set-cookie') ?? '';
    return { raw: set, pair: set.split(';')[0]! };
  };
  const login = (token: string, headers: Record<string, string> = {}) => api.http.post<{ data?: { authenticated: boolean; expiresAt: string }; errorCode?: string }>('/api/console/session', { token }, headers);

  it('refuses a wrong credential with 401 UNAUTHORIZED and sets no cookie', async () => {
    const res = await login('not-the-admin-token-at-all');
    expect(res.status).to.equal(401);
    expect(res.body.errorCode).to.equal('UNAUTHORIZED');
    expect(res.headers.get('set-cookie')).to.equal(null);
  });

  it('logs in for an HttpOnly, SameSite=Strict cookie with an expiry; Redis holds only the id\'s hash', async () => {
    const res = await login(ADMIN_TOKEN);
    expect(res.status).to.equal(200);
    expect(res.body.data!.authenticated).to.equal(true);
    const { raw, pair } = cookieOf(res);
    expect(raw).to.match(/^apg_console=[\w-]{43}; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Strict$/);
    const id = pair.split('=')[1]!;
    const keys = await probe.redis.keys(`${names.redisPrefix}console:session:*`);
    expect(keys).to.include(`${names.redisPrefix}console:session:${createHash('sha256').update(id).digest('hex')}`);
    for (const k of keys) expect(k + (await probe.redis.get(k))).not.to.include(id);
    const ttl = await probe.redis.pttl(keys[0]!);
    expect(ttl).to.be.within(1, 8 * 3_600_000);

    const me = new HttpClient(`http://127.0.0.1:${api.port}`).with({ cookie: pair });
    expect((await me.get<{ data: { authenticated: boolean } }>('/api/console/session')).body.data.authenticated).to.equal(true);
    expect((await api.http.get<{ data: { authenticated: boolean } }>('/api/console/session')).body.data.authenticated).to.equal(false);
    expect((await me.get('/api/admin/projects')).status).to.equal(200);
    expect((await api.http.get('/api/admin/projects')).status).to.equal(401);
    expect((await api.http.get('/api/admin/projects', { cookie: 'apg_console=forged-forged-forged-forged-forged-forged-abc' })).status).to.equal(401);
  });

  it('a cookie write needs the console header and its own Origin (CSRF); Bearer clients are unchanged', async () => {
    const { pair } = cookieOf(await login(ADMIN_TOKEN));
    const me = new HttpClient(`http://127.0.0.1:${api.port}`).with({ cookie: pair });
    const noHeader = await me.post<{ errorCode: string }>('/api/admin/apikeys', { description: 'csrf' });
    expect(noHeader.status).to.equal(403);
    expect(noHeader.body.errorCode).to.equal('FORBIDDEN');
    const otherOrigin = await me.post('/api/admin/apikeys', { description: 'csrf' }, { 'x-apg-console': '1', origin: 'https://evil.example' });
    expect(otherOrigin.status).to.equal(403);
    const same = await me.post('/api/admin/apikeys', { description: 'csrf' }, { 'x-apg-console': '1', origin: `http://127.0.0.1:${api.port}` });
    expect(same.status).to.equal(200);
    // A login from another site's page is refused too.
    expect((await login(ADMIN_TOKEN, { origin: 'https://evil.example' })).status).to.equal(403);
    expect((await api.admin.post('/api/admin/apikeys', { description: 'bearer' })).status).to.equal(200);
  });

  it('logout ends the session on every replica (Redis) and clears the cookie', async () => {
    const { pair } = cookieOf(await login(ADMIN_TOKEN));
    const me = new HttpClient(`http://127.0.0.1:${api.port}`).with({ cookie: pair });
    const second = await startApi(names);
    try {
      const other = new HttpClient(`http://127.0.0.1:${second.port}`).with({ cookie: pair });
      expect((await other.get('/api/admin/projects')).status).to.equal(200);
      const out = await me.delete('/api/console/session');
      expect(out.status).to.equal(200);
      expect(out.headers.get('set-cookie')).to.match(/^apg_console=; Path=\/; Max-Age=0; HttpOnly; SameSite=Strict$/);
      expect((await me.get('/api/admin/projects')).status).to.equal(401);
      expect((await other.get('/api/admin/projects')).status).to.equal(401);
    } finally {
      await second.close();
    }
  });

  it('serves /console with a strict Content-Security-Policy', async () => {
    const res = await api.http.get('/console/');
    expect([200, 404]).to.include(res.status);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).to.include("default-src 'self'");
    expect(csp).to.include("script-src 'self'");
    expect(csp).to.include("frame-ancestors 'none'");
    expect(csp).not.to.include('unsafe-inline');
    expect(res.headers.get('x-frame-options')).to.equal('DENY');
    // The api's JSON is unaffected: no CSP needed there, and /console never answers for /api.
    expect((await api.http.get('/console/../api/admin/projects')).status).to.be.oneOf([401, 404]);
  });

  it('registers, edits, changes the lifecycle of and deletes an instance; the playground explains a real select', async () => {
    const created = await api.admin.post<{ data: { project: { id: string; apiKeyPrefix: string }; apiKey: { apiKeyValue: string; apiKeyPrefix: string; status: string } } }>('/api/admin/projects', { name: 'console-p' });
    expect(created.status).to.equal(200);
    const { project, apiKey } = created.body.data;
    expect(apiKey.apiKeyValue).to.match(/^gw_/);
    expect(project.apiKeyPrefix).to.equal(apiKey.apiKeyPrefix);
    expect(apiKey.status).to.equal('ACTIVE');

    const bad = await api.admin.post<{ errors: { field: string }[] }>('/api/admin/instances', { projectId: project.id, apiIdentifier: 'm', apiType: 'MODEL', businessId: 'b0', routingParams: { breaker: { windowMs: 5 } } });
    expect(bad.status).to.equal(400);
    expect(bad.body.errors.map((e) => e.field)).to.include('routingParams.breaker.windowMs');

    const ids: string[] = [];
    for (const b of ['b1', 'b2']) {
      const r = await api.admin.post<{ data: { id: string } }>('/api/admin/instances', { projectId: project.id, apiIdentifier: 'm', apiType: 'MODEL', businessId: b, routingParams: { weight: 1, priority: b === 'b1' ? 5 : 1 } });
      expect(r.status).to.equal(200);
      ids.push(r.body.data.id);
    }
    const edited = await api.admin.put<{ data: { routingParams: Record<string, unknown> } }>(`/api/admin/instances/${ids[1]}`, { apiIdentifier: 'm', routingParams: { weight: 3, breaker: { minCalls: 4 } } });
    expect(edited.status).to.equal(200);
    expect(edited.body.data.routingParams).to.deep.include({ weight: 3 });
    const off = await api.admin.put<{ data: { status: string } }>(`/api/admin/instances/${ids[1]}/status`, { status: 'DEPRECATED' });
    expect(off.body.data.status).to.equal('DEPRECATED');

    const pick = await api.admin.post<{ data: { id: string; explain: { strategy: string; groups: { candidates: unknown[] }[] } } }>(`/api/admin/projects/${project.id}/select`, { apiIdentifier: 'm', apiType: 'MODEL', strategy: 'PRIORITY' });
    expect(pick.status).to.equal(200);
    expect(pick.body.data.id).to.equal(ids[0]);
    expect(pick.body.data.explain.strategy).to.equal('PRIORITY');
    expect(pick.body.data.explain.groups[0]!.candidates).to.have.length(1);
    // Its lease is settled at once: nothing is left to expire into a timeout.
    expect(await probe.redis.hlen(`${names.redisPrefix}leases`)).to.equal(0);

    expect((await api.admin.delete(`/api/admin/instances/${ids[1]}`)).status).to.equal(200);
    expect((await api.admin.get(`/api/admin/instances/${ids[1]}`)).status).to.equal(404);
    expect((await api.admin.post(`/api/admin/projects/${'f'.repeat(32)}/select`, { apiIdentifier: 'm', apiType: 'MODEL' })).status).to.equal(404);
  });

  it('answers the overview and the chart series with every bucket of the range', async () => {
    const o = await api.admin.get<{ data: { statistics: { projects: { total: number } }; breakerStates: Record<string, number>; pipeline: unknown; dlq: { topic: string } } }>('/api/admin/console/overview');
    expect(o.status).to.equal(200);
    expect(o.body.data.statistics.projects.total).to.be.at.least(1);
    expect(o.body.data.breakerStates).to.have.keys('CLOSED', 'OPEN', 'HALF_OPEN', 'FORCED_OPEN', 'FORCED_CLOSED');
    expect(o.body.data.dlq.topic).to.equal(names.dlqTopic);
    for (const [range, n] of [['1h', 61], ['6h', 73], ['24h', 97], ['7d', 85]] as const) {
      const s = await api.admin.get<{ data: { points: unknown[] } }>(`/api/admin/console/series?timeRange=${range}`);
      expect(s.status, range).to.equal(200);
      expect(s.body.data.points.length, range).to.be.within(n - 1, n + 1);
    }
    expect((await api.admin.get('/api/admin/console/series?timeRange=2h')).status).to.equal(400);
    expect((await api.admin.get('/api/admin/console/series?timeRange=1h&instanceId=nope')).status).to.equal(400);
  });

  it('streams a forced breaker change to an open event stream at once; the JSON form answers without streaming', async () => {
    const { data } = (await api.admin.post<{ data: { project: { id: string } } }>('/api/admin/projects', { name: 'stream-p' })).body;
    const inst = (await api.admin.post<{ data: { id: string } }>('/api/admin/instances', { projectId: data.project.id, apiIdentifier: 'm', apiType: 'MODEL', businessId: 's1' })).body.data;
    const json = await api.admin.get<{ data: { streams: number } }>('/api/admin/console/breaker-events');
    expect(json.status).to.equal(200);

    let text = '';
    const req = http.get({ host: '127.0.0.1', port: api.port, path: '/api/admin/console/breaker-events', headers: { accept: 'text/event-stream', authorization: `Bearer ${ADMIN_TOKEN}` } });
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => req.once('response', resolve).once('error', reject));
    try {
      expect(res.statusCode).to.equal(200);
      expect(res.headers['content-type']).to.match(/^text\/event-stream/);
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { text += chunk; });
      await waitFor('stream open', () => text.includes(': connected'), { timeoutMs: 5000 });
      expect((await api.admin.post(`/api/admin/instances/${inst.id}/breaker`, { mode: 'FORCED_OPEN' })).status).to.equal(200);
      await waitFor('breaker event', () => text.includes(`"instanceId":"${inst.id}","state":"FORCED_OPEN"`), { timeoutMs: 10_000 });
    } finally {
      req.destroy();
    }
  });

  it('throttles login attempts per address (429 with Retry-After), right credential or not', async () => {
    let last = 0;
    let retryAfter: string | null = null;
    for (let i = 0; i < 12 && last !== 429; i++) {
      const res = await login('wrong-wrong-wrong-wrong');
      last = res.status;
      retryAfter = res.headers.get('retry-after');
    }
    expect(last).to.equal(429);
    expect(Number(retryAfter)).to.be.above(0);
    expect((await login(ADMIN_TOKEN)).status).to.equal(429);
  });
});
