import { expect } from 'chai';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { apiKeyDigest, decodeCallResultEvent, macMatches, readSignatureClaim, signingKeyIdOfDigest, signingSecretOfDigest } from '@apg/contracts';
import { GatewayClient, KafkaReporter, signEvent, type DropNotice, type KafkaCallOutcome } from '@apg/sdk';
import { freePort } from '../child-service';
import { register, type Registered } from '../routing/routing-fixture';
import { openProbe, startAggregator, startApi, startIngestor, stackNames, type Probe, type StackNames, type TestAggregator } from '../stack';
import { createTenant, type TestTenant } from '../tenant';
import { testEnv, uniqueName } from '../test-env';
import { waitFor } from '../wait-for';

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

/**
 * Issue 10 part 3, the SDK's `KafkaReporter` on the real stack: signed events it publishes are written by the
 * ingestor and counted in the aggregator's breaker window; against a dead broker it drops and counts instead
 * of blocking (report() timed per call, the event loop watched); flush and close end within their timeouts.
 */
describe('KafkaReporter on the real stack', function () {
  this.timeout(180_000);
  let names: StackNames;
  let probe: Probe;
  let api: Awaited<ReturnType<typeof startApi>>;
  let ingestor: Awaited<ReturnType<typeof startIngestor>>;
  let aggregator: TestAggregator;
  let tenant: TestTenant;
  let instance: Registered | undefined;
  const reporters: KafkaReporter[] = [];

  before(async () => {
    names = stackNames();
    probe = await openProbe(names);
    api = await startApi(names);
    ingestor = await startIngestor(names);
    aggregator = await startAggregator(names);
    tenant = await createTenant(api);
    [instance] = await register(tenant, [{ businessId: 'kafka-reported', apiIdentifier: 'sdk-kafka' }]);
  });

  after(async () => {
    await Promise.all(reporters.map((r) => r.close(2000)));
    await aggregator?.close();
    await ingestor?.close();
    await api?.close();
    await probe?.close();
  });

  const reporter = (o: Partial<ConstructorParameters<typeof KafkaReporter>[0]> = {}) => {
    const r = new KafkaReporter({ brokers: testEnv().brokers, apiKey: tenant.apiKey, topic: names.topic, lingerMs: 5, ...o });
    reporters.push(r);
    return r;
  };

  it('publishes signed events that show up in Postgres (ingestor) and in the breaker window (aggregator)', async () => {
    const r = reporter();
    const client = new GatewayClient({ baseUrl: `http://127.0.0.1:${api.port}`, apiKey: tenant.apiKey, reporter: r });
    // Through call(): the selected instance supplies projectId, apiIdentifier and apiType.
    const CALLS = 20;
    let lastSelection = '';
    for (let i = 0; i < CALLS; i++) {
      const out = await client.call({ apiType: 'MODEL', apiIdentifier: 'sdk-kafka' }, async () => ({ tokens: 10 }), { usageOf: (x) => ({ totalTokens: (x as { tokens: number }).tokens }) });
      lastSelection = out.instance.selectionId;
    }
    // A worker without a select: the outcome carries what the event needs itself.
    const worker: KafkaCallOutcome = { projectId: tenant.projectId, instanceId: instance!.id, businessId: 'kafka-reported', apiIdentifier: 'sdk-kafka', apiType: 'MODEL', success: false, latencyMs: 40, statusCode: 502, errorType: 'UPSTREAM_5XX' };
    for (let i = 0; i < 5; i++) r.report(worker);
    // The same selection reported again (a retry after a crash): same eventId, counted once.
    r.report({ ...worker, selectionId: lastSelection, success: true, statusCode: 200, errorType: undefined });
    expect(await r.flush(15_000), 'flushed').to.equal(true);
    expect(r.stats).to.deep.include({ reported: CALLS + 6, sent: CALLS + 6, droppedTotal: 0 });
    expect(client.failedReports).to.equal(0);

    const expected = CALLS + 5;
    const rows = await waitFor('the ingestor\'s rows', async () => {
      const { rows: [row] } = await probe.db.query<{ n: number; failures: number; tokens: number }>('test.sdk-rows',
        'SELECT count(*)::int AS n, count(*) FILTER (WHERE NOT success)::int AS failures, coalesce(sum(total_tokens), 0)::int AS tokens FROM call_results WHERE project_id = $1', [tenant.projectId]);
      return row && row.n >= expected ? row : null;
    }, { timeoutMs: 60_000 });
    expect(rows).to.deep.equal({ n: expected, failures: 5, tokens: CALLS * 10 });

    const window = await waitFor('the aggregator\'s window', async () => {
      const json = await probe.redis.hget(`${names.redisPrefix}breaker-states`, instance!.id);
      const rec = json ? (JSON.parse(json) as { stats: { calls: number; failures: number } | null }) : null;
      return rec?.stats && rec.stats.calls >= expected ? rec.stats : null;
    }, { timeoutMs: 60_000 });
    expect(window).to.include({ calls: expected, failures: 5 });
    expect(aggregator.fatals).to.deep.equal([]);
  });

  it('a burst of heavy events for one instance is sent in requests the broker accepts (500 × ~3 KB, over its 1 MiB limit as one batch) and all are stored', async () => {
    const errors: string[] = [];
    const r = reporter({ lingerMs: 200, onSendError: (e) => errors.push(e.message) });
    // 1,024 characters of CJK: ~3 KB of UTF-8 per event, the largest error message an event may carry.
    const heavy: KafkaCallOutcome = { projectId: tenant.projectId, instanceId: instance!.id, businessId: 'kafka-reported', apiIdentifier: 'sdk-kafka', apiType: 'MODEL', success: false, latencyMs: 7, statusCode: 500, errorType: 'UPSTREAM_5XX', errorMessage: '上游服务错误'.repeat(200) };
    const before = await probe.db.query<{ n: number }>('test.sdk-heavy-before', 'SELECT count(*)::int AS n FROM call_results WHERE project_id = $1', [tenant.projectId]);
    for (let i = 0; i < 500; i++) r.report(heavy);
    expect(await r.flush(60_000), 'flushed').to.equal(true);
    expect(errors, 'no request refused').to.deep.equal([]);
    expect(r.stats).to.deep.include({ reported: 500, sent: 500, droppedTotal: 0 });
    await waitFor('the 500 rows', async () => {
      const { rows: [row] } = await probe.db.query<{ n: number }>('test.sdk-heavy', 'SELECT count(*)::int AS n FROM call_results WHERE project_id = $1', [tenant.projectId]);
      return row!.n === before.rows[0]!.n + 500;
    }, { timeoutMs: 60_000 });
  });

  it('signs the exact value bytes with the project key (headers a consumer verifies from the stored digest)', async () => {
    const r = reporter();
    r.report({ projectId: tenant.projectId, instanceId: instance!.id, businessId: 'kafka-reported', apiIdentifier: 'sdk-kafka', apiType: 'MODEL', success: true, latencyMs: 7, userId: 'signed-check' });
    expect(await r.flush(15_000)).to.equal(true);
    const consumer = probe.kafka.consumer({ groupId: uniqueName('sdk-sig') });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: names.topic, fromBeginning: true });
      const found = await new Promise<{ value: Buffer; headers: Record<string, unknown> }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the signed event never arrived')), 60_000);
        void consumer.run({
          eachMessage: async ({ message }) => {
            const decoded = decodeCallResultEvent(message.value);
            if (decoded.ok && decoded.event.userId === 'signed-check') {
              clearTimeout(timer);
              resolve({ value: message.value!, headers: message.headers ?? {} });
            }
          },
        });
      });
      const claim = readSignatureClaim(found.headers);
      expect(claim.ok).to.equal(true);
      if (!claim.ok) return;
      const digest = apiKeyDigest(tenant.apiKey);
      expect(claim.keyId).to.equal(signingKeyIdOfDigest(digest));
      expect(macMatches(found.value, signingSecretOfDigest(digest), claim.mac)).to.equal(true);
      // Exactly what the exported signEvent gives for those bytes (the reporter derives the key once).
      const text = (v: unknown) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v));
      expect({ 'apg-key-id': text(found.headers['apg-key-id']), 'apg-signature': text(found.headers['apg-signature']) }).to.deep.equal(signEvent(found.value, tenant.apiKey));
    } finally {
      await consumer.disconnect();
    }
  });

  it('pointed at a dead broker, drops and counts instead of blocking: report() in microseconds, the event loop free', async () => {
    const port = await freePort(); // nothing listens there
    const drops: DropNotice[] = [];
    const r = reporter({ brokers: [`127.0.0.1:${port}`], maxBufferedEvents: 1000, batchSize: 200, sendRetries: 1, retryBackoffMs: 50, sendTimeoutMs: 500, connectionTimeoutMs: 300, onDrop: (d) => drops.push(d) });
    const N = 20_000;
    const took: number[] = [];
    const outcome: KafkaCallOutcome = { projectId: tenant.projectId, instanceId: instance!.id, businessId: 'kafka-reported', apiIdentifier: 'sdk-kafka', apiType: 'MODEL', success: true, latencyMs: 5 };
    for (let i = 0; i < N; i++) {
      const t0 = process.hrtime.bigint();
      r.report(outcome);
      took.push(Number(process.hrtime.bigint() - t0) / 1000);
      // Let the reporter's own loop run between chunks, as it would between a service's requests.
      if (i % 1000 === 999) await new Promise((res) => setImmediate(res));
    }
    // While it keeps trying the dead broker: is the event loop still free?
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    await waitFor('a batch to fail through its retries', () => r.stats.dropped.send_failed > 0, { timeoutMs: 30_000 });
    await new Promise((res) => setTimeout(res, 1000));
    loop.disable();

    took.sort((a, b) => a - b);
    const mean = took.reduce((s, x) => s + x, 0) / took.length;
    const s = r.stats;
    console.log(`      dead broker: report() mean ${mean.toFixed(1)} µs, p50 ${percentile(took, 0.5).toFixed(1)} µs, p99 ${percentile(took, 0.99).toFixed(1)} µs, max ${took[took.length - 1]!.toFixed(0)} µs; ` +
      `event loop delay while retrying p99 ${(loop.percentile(99) / 1e6).toFixed(1)} ms, max ${(loop.max / 1e6).toFixed(1)} ms; dropped ${JSON.stringify(s.dropped)}`);
    expect(s.reported).to.equal(N);
    expect(s.sent).to.equal(0);
    // A refused connection fails batches quickly, so some room frees up between chunks; most reports still
    // find the buffer full and are dropped at once.
    expect(s.dropped.buffer_full, 'beyond the bound: dropped at once').to.be.at.least(N / 2);
    expect(s.dropped.send_failed).to.be.at.least(1);
    expect(s.droppedTotal + s.queued + s.inFlight, 'every report accounted for').to.equal(N);
    expect(drops.reduce((n, d) => n + d.count, 0), 'onDrop told of each drop').to.equal(s.droppedTotal);
    expect(drops.some((d) => d.reason === 'send_failed' && d.eventIds.length === d.count)).to.equal(true);
    // Loose bounds (a loaded 2-core machine): the point is microseconds, not milliseconds, per report.
    expect(mean, 'mean report() µs').to.be.below(500);
    expect(loop.max / 1e6, 'longest event-loop stall while retrying, ms').to.be.below(250);

    const t0 = Date.now();
    const final = await r.close(1500);
    expect(Date.now() - t0, 'close() within its timeout').to.be.below(1500 + 500);
    expect(final.queued + final.inFlight).to.equal(0);
    expect(final.droppedTotal).to.equal(N);
    r.report(outcome);
    expect(r.stats.dropped.closed).to.be.at.least(1);
  });

  it('flush and close terminate within their timeouts, with a live and with a dead broker', async () => {
    const live = reporter({ batchSize: 100 });
    const outcome: KafkaCallOutcome = { projectId: tenant.projectId, instanceId: instance!.id, businessId: 'kafka-reported', apiIdentifier: 'sdk-kafka', apiType: 'MODEL', success: true, latencyMs: 5 };
    for (let i = 0; i < 1000; i++) live.report(outcome);
    let t0 = Date.now();
    expect(await live.flush(20_000)).to.equal(true);
    const flushMs = Date.now() - t0;
    expect(live.stats).to.deep.include({ sent: 1000, droppedTotal: 0, queued: 0, inFlight: 0 });
    t0 = Date.now();
    await live.close(5000);
    const closeMs = Date.now() - t0;

    const port = await freePort();
    const dead = reporter({ brokers: [`127.0.0.1:${port}`], sendRetries: 10, retryBackoffMs: 100, sendTimeoutMs: 500, connectionTimeoutMs: 300 });
    for (let i = 0; i < 50; i++) dead.report(outcome);
    t0 = Date.now();
    expect(await dead.flush(800), 'flush against a dead broker: false at its timeout').to.equal(false);
    const deadFlushMs = Date.now() - t0;
    expect(deadFlushMs).to.be.at.least(750).and.below(800 + 500);
    t0 = Date.now();
    const final = await dead.close(1200);
    const deadCloseMs = Date.now() - t0;
    console.log(`      live broker: 1000 events flushed in ${flushMs} ms, close ${closeMs} ms; dead broker: flush(800) ${deadFlushMs} ms, close(1200) ${deadCloseMs} ms, dropped ${JSON.stringify(final.dropped)}`);
    expect(deadCloseMs).to.be.below(1200 + 500);
    expect(closeMs).to.be.below(5000);
    expect(final.dropped.closed + final.dropped.send_failed).to.equal(50);
    expect(final.sent).to.equal(0);
  });
});
