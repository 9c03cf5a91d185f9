import { expect } from 'chai';
import { GatewayCallError, GatewayClient, GatewayError, UpstreamError, type SelectedInstance } from '@apg/sdk';
import { DEFAULT_BREAKER_CONFIG_VALUES } from '../breaker-defaults';
import { register } from '../routing/routing-fixture';
import { openProbe, startApi, stackNames, type Probe } from '../stack';
import { createTenant, type TestTenant } from '../tenant';

const THRESHOLD = DEFAULT_BREAKER_CONFIG_VALUES.consecutiveFailures;

/**
 * Issue 10 part 3, `GatewayClient.call()` against the real api (in process, real Redis and Kafka): it serves
 * through a failing instance, the gateway's breaker stops sending it calls after its threshold, the fallback
 * chain takes over when the primary has nothing left, the deadline ends the call with every attempt listed,
 * and the gateway's refusals come back as typed errors with their errorCode.
 */
describe('GatewayClient.call on the real api', function () {
  this.timeout(120_000);
  let api: Awaited<ReturnType<typeof startApi>>;
  let tenant: TestTenant;
  let client: GatewayClient;
  let probe: Probe;

  before(async () => {
    const names = stackNames();
    probe = await openProbe(names); // creates the run's topics
    // Breakers stay open for the whole suite: every call counted below is one the breaker should have prevented.
    api = await startApi(names, { breakerDefaults: { ...DEFAULT_BREAKER_CONFIG_VALUES, openDurationMs: 120_000, maxOpenDurationMs: 300_000 } });
    tenant = await createTenant(api);
    client = new GatewayClient({ baseUrl: `http://127.0.0.1:${api.port}`, apiKey: tenant.apiKey });
  });

  after(async () => {
    await client?.flushReports();
    await api?.close();
    await probe?.close();
  });

  it('succeeds when the first instance fails, and the dead instance gets no more than its breaker threshold of calls', async () => {
    const [dead, ok1, ok2] = await register(tenant, [
      { businessId: 'dead', apiIdentifier: 'sdk-llm', routingParams: { priority: 10 } },
      { businessId: 'ok-1', apiIdentifier: 'sdk-llm', routingParams: { priority: 1 } },
      { businessId: 'ok-2', apiIdentifier: 'sdk-llm', routingParams: { priority: 1 } },
    ]);
    const reached = new Map<string, number>();
    const CALLS = 40;
    const served: string[] = [];
    for (let i = 0; i < CALLS; i++) {
      // PRIORITY puts the dead instance first every time until its breaker opens.
      const out = await client.call({ apiType: 'MODEL', apiIdentifier: 'sdk-llm', strategy: 'PRIORITY' }, async (inst: SelectedInstance) => {
        reached.set(inst.id, (reached.get(inst.id) ?? 0) + 1);
        if (inst.id === dead!.id) throw new UpstreamError(503, 'provider down');
        return inst.businessId;
      });
      served.push(out.result);
      if (out.attempts.length > 1) {
        expect(out.attempts[0]).to.include({ success: false, errorType: 'UPSTREAM_5XX', statusCode: 503 });
        expect(out.attempts[0]!.instance.id).to.equal(dead!.id);
      }
    }
    console.log(`      ${CALLS} calls, all served; calls that reached the dead instance: ${reached.get(dead!.id)}, ok-1: ${reached.get(ok1!.id) ?? 0}, ok-2: ${reached.get(ok2!.id) ?? 0}`);
    expect(served).to.have.length(CALLS);
    expect(served.every((b) => b === 'ok-1' || b === 'ok-2')).to.equal(true);
    expect(reached.get(dead!.id), 'calls that reached the dead instance').to.equal(THRESHOLD);
    expect(client.failedReports).to.equal(0);
  });

  it('moves down the fallback chain when the primary has no instance left', async () => {
    const [primary, backup] = await register(tenant, [
      { businessId: 'fb-primary', apiIdentifier: 'sdk-primary' },
      { businessId: 'fb-backup', apiIdentifier: 'sdk-backup' },
    ]);
    const out = await client.call({ apiType: 'MODEL', apiIdentifier: 'sdk-primary', fallbackChain: ['sdk-backup'] }, async (inst) => {
      if (inst.id === primary!.id) throw Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
      return 'from backup';
    });
    expect(out.result).to.equal('from backup');
    expect(out.instance.id).to.equal(backup!.id);
    expect(out.fallbackUsed).to.equal(true);
    expect(out.servedApiIdentifier).to.equal('sdk-backup');
    expect(out.attempts.map((a) => [a.instance.businessId, a.success, a.errorType])).to.deep.equal([['fb-primary', false, 'NETWORK'], ['fb-backup', true, undefined]]);
  });

  it('gives up at its deadline with every attempt listed, each aborted through its signal', async () => {
    await register(tenant, [0, 1, 2, 3, 4, 5].map((i) => ({ businessId: `hang-${i}`, apiIdentifier: 'sdk-hang' })));
    const signals: AbortSignal[] = [];
    const t0 = Date.now();
    const err = await client
      .call({ apiType: 'MODEL', apiIdentifier: 'sdk-hang' }, (_inst, { signal }) => {
        signals.push(signal);
        return new Promise<never>(() => undefined); // a provider that never answers (and ignores the signal)
      }, { deadlineMs: 1500, attemptTimeoutMs: 400, maxAttempts: 10 })
      .catch((e: unknown) => e);
    const took = Date.now() - t0;
    expect(err).to.be.instanceOf(GatewayCallError);
    const e = err as GatewayCallError;
    console.log(`      deadline 1500 ms: gave up after ${took} ms, ${e.attempts.length} attempts: ${e.attempts.map((a) => `${a.instance.businessId}/${a.errorType}/${a.latencyMs}ms`).join(', ')}`);
    expect(e.reason).to.equal('deadline');
    expect(took).to.be.at.least(1400);
    expect(took, 'ends at the deadline, not after').to.be.below(1500 + 1000);
    expect(e.attempts.length).to.be.at.least(2).and.at.most(4);
    expect(new Set(e.attempts.map((a) => a.instance.id)).size, 'a different instance each time').to.equal(e.attempts.length);
    for (const a of e.attempts) expect(a).to.include({ success: false, errorType: 'TIMEOUT' });
    expect(signals.every((s) => s.aborted)).to.equal(true);
  });

  it('does not retry the request\'s own 400; the gateway\'s refusals are typed errors with its errorCode', async () => {
    await register(tenant, [{ businessId: 'bad-req-1', apiIdentifier: 'sdk-4xx' }, { businessId: 'bad-req-2', apiIdentifier: 'sdk-4xx' }]);
    const e = (await client.call({ apiType: 'MODEL', apiIdentifier: 'sdk-4xx' }, () => Promise.reject(new UpstreamError(400, 'prompt too long'))).catch((x: unknown) => x)) as GatewayCallError;
    expect(e.reason).to.equal('not_retryable');
    expect(e.attempts).to.have.length(1);

    const unknown = (await client.select({ apiType: 'MODEL', apiIdentifier: 'nothing-registered' }).catch((x: unknown) => x)) as GatewayError;
    expect(unknown).to.be.instanceOf(GatewayError);
    expect(unknown).to.include({ status: 404, errorCode: 'NO_AVAILABLE_INSTANCE' });

    const stranger = new GatewayClient({ baseUrl: `http://127.0.0.1:${api.port}`, apiKey: 'not-a-key-of-anyone-0123456789' });
    const denied = (await stranger.call({ apiType: 'MODEL', apiIdentifier: 'sdk-4xx' }, () => 1).catch((x: unknown) => x)) as GatewayError;
    expect(denied).to.be.instanceOf(GatewayError);
    expect(denied).to.include({ status: 401, errorCode: 'UNAUTHORIZED' });

    const invalid = (await client.select({ apiType: 'MODEL', apiIdentifier: 'x', strategy: 'TELEPATHY' }).catch((x: unknown) => x)) as GatewayError;
    expect(invalid).to.include({ status: 400, errorCode: 'VALIDATION_FAILED' });
  });
});
