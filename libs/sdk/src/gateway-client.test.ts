import { expect } from 'chai';
import { GatewayCallError, GatewayError, UpstreamError } from './errors';
import { GatewayClient } from './gateway-client';
import type { KafkaCallOutcome, SelectedInstance } from './types';

/**
 * An in-memory gateway behind an injected fetch: serves instances in order minus excludeInstanceIds, answers
 * the envelope, records every request. Unit level only — the real api is exercised in libs/testkit/src/sdk.
 */
function fakeGateway(ids: string[], opts: { selectStatus?: number; errorCode?: string; reportStatus?: number } = {}) {
  const selects: Record<string, unknown>[] = [];
  const reports: Record<string, unknown>[] = [];
  let n = 0;
  const fetchImpl = (async (url: string | URL | Request, init?: RequestInit) => {
    const body = JSON.parse(init?.body as string) as Record<string, unknown>;
    const json = (status: number, payload: unknown, headers: Record<string, string> = {}) => new Response(JSON.stringify(payload), { status, headers: { 'content-type': 'application/json', ...headers } });
    if ((url as string).endsWith('/api/gateway/select-instance')) {
      selects.push(body);
      if (opts.selectStatus) return json(opts.selectStatus, { code: opts.selectStatus, message: 'no', errorCode: opts.errorCode, timestamp: 0 }, { 'retry-after': '1' });
      const exclude = new Set((body['excludeInstanceIds'] as string[] | undefined) ?? []);
      const id = ids.find((i) => !exclude.has(i));
      if (!id) return json(503, { code: 503, message: 'none left', errorCode: 'NO_HEALTHY_INSTANCE', timestamp: 0 });
      const data: SelectedInstance = {
        id, projectId: 'p'.repeat(32), apiIdentifier: String(body['apiIdentifier']), apiType: 'MODEL', businessId: `b-${id}`, routingParams: {}, status: 'ACTIVE', metadata: {},
        selectionId: `sel-${++n}`, breakerState: 'CLOSED', fallbackUsed: id.startsWith('fb'), servedApiIdentifier: id.startsWith('fb') ? 'backup' : String(body['apiIdentifier']),
      };
      return json(200, { code: 200, message: 'ok', data, timestamp: 0 });
    }
    reports.push(body);
    return json(opts.reportStatus ?? 200, { code: opts.reportStatus ?? 200, message: 'ok', timestamp: 0 });
  }) as typeof fetch;
  return { fetchImpl, selects, reports };
}

const req = { apiIdentifier: 'gpt4o', apiType: 'MODEL' as const };
const settle = () => new Promise((r) => setTimeout(r, 5));

describe('GatewayClient.call (in-memory gateway)', () => {
  it('"as long as it takes" means it: deadlineMs, attemptTimeoutMs and timeoutMs above 2^31 − 1 ms do not fire at once (Node would turn them into 1 ms)', async () => {
    const gw = fakeGateway(['a']);
    const client = new GatewayClient({ baseUrl: 'http://gw', apiKey: 'k', fetch: gw.fetchImpl, timeoutMs: 1e10 });
    const out = await client.call(req, async (inst, { signal }) => {
      await new Promise((r) => setTimeout(r, 30));
      if (signal.aborted) throw new Error('aborted before its time');
      return inst.id;
    }, { deadlineMs: 1e10, attemptTimeoutMs: 1e10 });
    expect(out.result).to.equal('a');
    expect(out.attempts).to.have.length(1);
    expect(await client.flushReports(Infinity)).to.equal(true);
  });

  it('retries a 5xx on the next instance, excluding the ones tried, reporting each outcome with its selectionId', async () => {
    const gw = fakeGateway(['a', 'b', 'c']);
    const client = new GatewayClient({ baseUrl: 'http://gw:8081/', apiKey: 'k', fetch: gw.fetchImpl, callDefaults: { backoff: { initialMs: 0 } } });
    const out = await client.call(req, async (inst) => {
      if (inst.id === 'a') throw new UpstreamError(503);
      return `served by ${inst.id}`;
    });
    await settle();
    expect(out.result).to.equal('served by b');
    expect(out.instance.id).to.equal('b');
    expect(out.attempts.map((a) => [a.instance.id, a.success, a.errorType])).to.deep.equal([['a', false, 'UPSTREAM_5XX'], ['b', true, undefined]]);
    expect(gw.selects.map((s) => s['excludeInstanceIds'])).to.deep.equal([undefined, ['a']]);
    expect(gw.reports.map((r) => [r['instanceId'], r['success'], r['selectionId'], r['statusCode']])).to.deep.equal([['a', false, 'sel-1', 503], ['b', true, 'sel-2', undefined]]);
  });

  it('does not retry the request\'s own 400, and throws every attempt', async () => {
    const gw = fakeGateway(['a', 'b']);
    const client = new GatewayClient({ baseUrl: 'http://gw', apiKey: 'k', fetch: gw.fetchImpl });
    const err = await client.call(req, () => Promise.reject(new UpstreamError(400, 'bad prompt'))).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(GatewayCallError);
    const e = err as GatewayCallError;
    expect(e.reason).to.equal('not_retryable');
    expect(e.attempts).to.have.length(1);
    expect(e.attempts[0]).to.include({ errorType: 'CLIENT_4XX', statusCode: 400, retryable: false });
    expect(gw.selects).to.have.length(1);
  });

  it('stops at maxAttempts', async () => {
    const gw = fakeGateway(['a', 'b', 'c', 'd']);
    const client = new GatewayClient({ baseUrl: 'http://gw', apiKey: 'k', fetch: gw.fetchImpl });
    const e = (await client.call(req, () => { throw new UpstreamError(502); }, { maxAttempts: 2, backoff: { initialMs: 0 } }).catch((x: unknown) => x)) as GatewayCallError;
    expect(e.reason).to.equal('max_attempts');
    expect(e.attempts.map((a) => a.instance.id)).to.deep.equal(['a', 'b']);
  });

  it('runs down to the gateway\'s fallback chain, then ends "exhausted" with the gateway\'s errorCode', async () => {
    const gw = fakeGateway(['a', 'fb1']);
    const client = new GatewayClient({ baseUrl: 'http://gw', apiKey: 'k', fetch: gw.fetchImpl });
    const ok = await client.call({ ...req, fallbackChain: ['backup'] }, async (i) => { if (i.id === 'a') throw new UpstreamError(500); return 1; }, { backoff: { initialMs: 0 } });
    expect(ok.fallbackUsed).to.equal(true);
    expect(ok.servedApiIdentifier).to.equal('backup');
    const e = (await client.call(req, () => { throw new UpstreamError(500); }, { maxAttempts: 5, backoff: { initialMs: 0 } }).catch((x: unknown) => x)) as GatewayCallError;
    expect(e.reason).to.equal('exhausted');
    expect(e.errorCode).to.equal('NO_HEALTHY_INSTANCE');
    expect(e.attempts).to.have.length(2);
  });

  it('a first select refused by the gateway surfaces as GatewayError with its errorCode and Retry-After', async () => {
    const gw = fakeGateway(['a'], { selectStatus: 429, errorCode: 'RATE_LIMITED' });
    const client = new GatewayClient({ baseUrl: 'http://gw', apiKey: 'k', fetch: gw.fetchImpl });
    const e = (await client.call(req, () => 1).catch((x: unknown) => x)) as GatewayError;
    expect(e).to.be.instanceOf(GatewayError);
    expect(e).to.include({ status: 429, errorCode: 'RATE_LIMITED' });
    expect(e.retryAfterMs).to.equal(1000);
  });

  it('gives up at the deadline even when fn ignores its signal, and fn\'s signal is aborted', async () => {
    const gw = fakeGateway(['a', 'b', 'c']);
    const client = new GatewayClient({ baseUrl: 'http://gw', apiKey: 'k', fetch: gw.fetchImpl });
    const signals: AbortSignal[] = [];
    const t0 = Date.now();
    const e = (await client.call(req, (_i, { signal }) => { signals.push(signal); return new Promise(() => undefined); }, { deadlineMs: 150, maxAttempts: 5 }).catch((x: unknown) => x)) as GatewayCallError;
    const took = Date.now() - t0;
    expect(e.reason).to.equal('deadline');
    expect(e.attempts).to.have.length(1);
    expect(e.attempts[0]).to.include({ errorType: 'TIMEOUT' });
    expect(signals[0]!.aborted).to.equal(true);
    expect(took).to.be.at.least(140).and.below(2000);
  });

  it('an attempt timeout moves on to the next instance within the deadline', async () => {
    const gw = fakeGateway(['slow', 'fast']);
    const client = new GatewayClient({ baseUrl: 'http://gw', apiKey: 'k', fetch: gw.fetchImpl });
    const out = await client.call(req, (i) => (i.id === 'slow' ? new Promise(() => undefined) : 'ok'), { attemptTimeoutMs: 50, deadlineMs: 5000, backoff: { initialMs: 0 } });
    expect(out.result).to.equal('ok');
    expect(out.attempts[0]).to.include({ errorType: 'TIMEOUT', success: false });
  });

  it('the caller\'s abort ends the call as "aborted", reported as the caller\'s doing (CLIENT_4XX), not retried', async () => {
    const gw = fakeGateway(['a', 'b']);
    const client = new GatewayClient({ baseUrl: 'http://gw', apiKey: 'k', fetch: gw.fetchImpl });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 30);
    const e = (await client.call(req, () => new Promise(() => undefined), { signal: ac.signal }).catch((x: unknown) => x)) as GatewayCallError;
    await settle();
    expect(e.reason).to.equal('aborted');
    expect(gw.selects).to.have.length(1);
    expect(gw.reports[0]).to.include({ success: false, errorType: 'CLIENT_4XX' });
  });

  it('not idempotent: no retry after an ambiguous failure, a retry after a refused connection; an idempotency key allows it', async () => {
    const gw = fakeGateway(['a', 'b', 'c', 'd', 'e']);
    const client = new GatewayClient({ baseUrl: 'http://gw', apiKey: 'k', fetch: gw.fetchImpl, callDefaults: { backoff: { initialMs: 0 } } });
    const timeoutLike = (await client.call(req, () => { throw new UpstreamError(504); }, { idempotent: false }).catch((x: unknown) => x)) as GatewayCallError;
    expect(timeoutLike.reason).to.equal('not_retryable');
    expect(timeoutLike.attempts).to.have.length(1);
    const refused = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }) });
    const out = await client.call(req, (i) => { if (i.id === 'a') throw refused; return 'charged once'; }, { idempotent: false });
    expect(out.attempts).to.have.length(2);
    const keys: (string | undefined)[] = [];
    const keyed = await client.call(req, (i, ctx) => { keys.push(ctx.idempotencyKey); if (i.id === 'a') throw new UpstreamError(504); return 'ok'; }, { idempotent: false, idempotencyKey: 'order-42' });
    expect(keyed.attempts).to.have.length(2);
    expect(keys).to.deep.equal(['order-42', 'order-42']);
  });

  it('failing reports never break the call: counted and told to onReportError', async () => {
    const gw = fakeGateway(['a', 'b'], { reportStatus: 503 });
    const seen: unknown[] = [];
    const client = new GatewayClient({ baseUrl: 'http://gw', apiKey: 'k', fetch: gw.fetchImpl, reportRetries: 1, onReportError: (err) => { seen.push(err); throw new Error('callback throws too'); } });
    const out = await client.call(req, (i) => { if (i.id === 'a') throw new UpstreamError(500); return 'ok'; }, { backoff: { initialMs: 0 } });
    expect(out.result).to.equal('ok');
    expect(await client.flushReports()).to.equal(true);
    expect(client.failedReports).to.equal(2);
    expect(seen[0]).to.be.instanceOf(GatewayError);
    expect(gw.reports, 'each report sent twice (one retry of a 503: same selectionId, counted once)').to.have.length(4);
  });

  it('with a reporter, outcomes go to it with the instance\'s project and API, not over HTTP; a throwing reporter is contained', async () => {
    const gw = fakeGateway(['a', 'b']);
    const got: KafkaCallOutcome[] = [];
    let throwNext = true;
    const client = new GatewayClient({ baseUrl: 'http://gw', apiKey: 'k', fetch: gw.fetchImpl, reporter: { report: (r) => { if (throwNext) { throwNext = false; throw new Error('full'); } got.push(r); } } });
    const out = await client.call(req, (i) => { if (i.id === 'a') throw new UpstreamError(500); return 'ok'; }, { backoff: { initialMs: 0 } });
    expect(out.result).to.equal('ok');
    expect(gw.reports).to.have.length(0);
    expect(client.failedReports).to.equal(1);
    expect(got).to.have.length(1);
    expect(got[0]).to.include({ instanceId: 'b', projectId: 'p'.repeat(32), apiIdentifier: 'gpt4o', apiType: 'MODEL', success: true, selectionId: 'sel-2' });
    // A later report() with only the instance id finds its context from the select.
    await client.report({ instanceId: 'b', businessId: 'b-b', success: false, latencyMs: 1, errorType: 'TIMEOUT' });
    expect(got[1]).to.include({ projectId: 'p'.repeat(32), errorType: 'TIMEOUT' });
    await client.report({ instanceId: 'never-selected', businessId: 'x', success: true, latencyMs: 1 });
    expect(client.failedReports).to.equal(2);
  });

  it('usageOf adds the result\'s usage to the report', async () => {
    const gw = fakeGateway(['a']);
    const client = new GatewayClient({ baseUrl: 'http://gw', apiKey: 'k', fetch: gw.fetchImpl });
    await client.call(req, () => ({ tokens: 42 }), { usageOf: (r) => ({ totalTokens: (r as { tokens: number }).tokens }) });
    await client.flushReports();
    expect(gw.reports[0]).to.deep.include({ usageMetrics: { totalTokens: 42 } });
  });

  it('an unreachable gateway is a GatewayError GATEWAY_UNREACHABLE; a non-JSON answer keeps its status', async () => {
    const down = new GatewayClient({ baseUrl: 'http://gw', apiKey: 'k', fetch: () => Promise.reject(new TypeError('fetch failed')) });
    expect(await down.select(req).catch((e: GatewayError) => e.errorCode)).to.equal('GATEWAY_UNREACHABLE');
    const html = new GatewayClient({ baseUrl: 'http://gw', apiKey: 'k', fetch: async () => new Response('<html>bad gateway</html>', { status: 502 }) });
    const e = (await html.select(req).catch((x: unknown) => x)) as GatewayError;
    expect(e).to.include({ status: 502, errorCode: 'HTTP_502' });
  });

  it('rejects options that cannot work', async () => {
    expect(() => new GatewayClient({ baseUrl: 'gw:8081', apiKey: 'k' })).to.throw(TypeError);
    expect(() => new GatewayClient({ baseUrl: 'http://gw', apiKey: '' })).to.throw(TypeError);
    expect(() => new GatewayClient({ baseUrl: 'http://gw', apiKey: 'k', timeoutMs: 0 })).to.throw(TypeError);
    // A report retried 1e9 times (waits doubling) would hold memory for every call while the gateway answers 503.
    for (const reportRetries of [-1, 1.5, Number.NaN, 11, 1e9]) {
      expect(() => new GatewayClient({ baseUrl: 'http://gw', apiKey: 'k', reportRetries }), String(reportRetries)).to.throw(TypeError, /reportRetries/);
    }
    for (const reportRetries of [0, 10]) expect(() => new GatewayClient({ baseUrl: 'http://gw', apiKey: 'k', reportRetries })).to.not.throw();
    const gw = fakeGateway(['a']);
    const client = new GatewayClient({ baseUrl: 'http://gw', apiKey: 'k', fetch: gw.fetchImpl });
    for (const bad of [{ maxAttempts: 0 }, { maxAttempts: 1.5 }, { deadlineMs: 0 }, { deadlineMs: Number.NaN }, { attemptTimeoutMs: -1 }]) {
      const err = await client.call(req, () => 1, bad).catch((e: unknown) => e);
      expect(err, JSON.stringify(bad)).to.be.instanceOf(TypeError);
    }
    expect(gw.selects, 'nothing selected for a call that cannot run').to.have.length(0);
  });
});

describe('GatewayClient timers', () => {
  it('leaves no deadline or attempt timer armed after call() returns, and the caller\'s long-lived signal keeps no listener', async () => {
    const gw = fakeGateway(['a']);
    const client = new GatewayClient({ baseUrl: 'http://gw', apiKey: 'k', fetch: gw.fetchImpl });
    const shutdown = new AbortController();
    let added = 0;
    let removed = 0;
    const add = shutdown.signal.addEventListener.bind(shutdown.signal);
    const remove = shutdown.signal.removeEventListener.bind(shutdown.signal);
    shutdown.signal.addEventListener = ((...args: Parameters<typeof add>) => { added++; add(...args); });
    shutdown.signal.removeEventListener = ((...args: Parameters<typeof remove>) => { removed++; remove(...args); });
    let seen: AbortSignal | undefined;
    for (let i = 0; i < 50; i++) {
      await client.call(req, (_i, { signal }) => { seen = signal; return 'ok'; }, { signal: shutdown.signal, deadlineMs: 60_000, attemptTimeoutMs: 30_000 });
    }
    expect(added).to.equal(50);
    expect(removed, 'every listener detached').to.equal(50);
    // The attempt's signal is not aborted afterwards: a body returned unread stays readable.
    await settle();
    expect(seen!.aborted).to.equal(false);
    const active = (process as unknown as { getActiveResourcesInfo(): string[] }).getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    expect(active, 'no 60 s / 30 s timers left behind').to.be.below(5);
  });
});
