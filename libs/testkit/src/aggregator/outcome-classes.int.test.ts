import { expect } from 'chai';
import type { Producer } from 'kafkajs';
import { createRedis, RedisKeys, type Redis } from '@apg/platform';
import type { HealthRecord } from '@apg/core';
import { openProbe, startAggregator, stackNames, type Probe, type StackNames } from '../stack';
import { testEnv } from '../test-env';
import { waitFor } from '../wait-for';
import { callEvent, callsAre, registerInstances, send, times, waitForRecord, type TestInstance } from './fixtures';

/**
 * Error classes and per-instance thresholds through the real aggregator: Kafka in, Redis records
 * and announcements and the Postgres audit trail out.
 */
describe('aggregator: outcome classes and per-instance config (real Kafka, Redis, Postgres)', function () {
  this.timeout(60_000);
  let names: StackNames;
  let probe: Probe;
  let aggregator: Awaited<ReturnType<typeof startAggregator>>;
  let producer: Producer;
  let sub: Redis;
  const announced: { at: number; records: Record<string, HealthRecord> }[] = [];

  before(async () => {
    names = stackNames();
    probe = await openProbe(names);
    sub = createRedis(testEnv().redisUrl);
    sub.on('message', (_channel: string, message: string) => {
      announced.push({ at: Date.now(), ...(JSON.parse(message) as { records: Record<string, HealthRecord> }) });
    });
    await sub.subscribe(new RedisKeys(names.redisPrefix).breakerChannel());
    aggregator = await startAggregator(names);
    producer = probe.kafka.producer();
    await producer.connect();
  });

  after(async () => {
    await producer?.disconnect();
    await aggregator?.close();
    sub?.disconnect();
    await probe?.close();
  });

  it('20 rate limits with retry-after cool the instance down without opening it', async () => {
    const [i] = (await registerInstances(probe.db, [{}])) as [TestInstance];
    const sentAt = Date.now();
    await send(producer, names, times(20, i, false, { errorType: 'RATE_LIMITED', statusCode: 429, retryAfterMs: 60_000 }));
    // A 429 is no health signal: it only cools the instance down and stays out of the window.
    const r = await waitForRecord(probe.redis, names, i.id, 'cooling', (x) => x.cooldownUntil !== null);
    expect(r.state).to.equal('CLOSED');
    expect(r.stats).to.include({ calls: 0, failures: 0 });
    expect(r.cooldownUntil).to.be.a('number').within(sentAt + 59_000, Date.now() + 60_000);
  });

  it('20 caller 4xx leave the instance CLOSED with no failure counted', async () => {
    const [i] = (await registerInstances(probe.db, [{}])) as [TestInstance];
    await send(producer, names, [...times(20, i, false, { errorType: 'CLIENT_4XX', statusCode: 400 }), callEvent(i, true)]);
    // The caller's own mistakes stay out of the window: only the one success counts.
    const r = await waitForRecord(probe.redis, names, i.id, 'the success counted', callsAre(1));
    expect(r).to.include({ state: 'CLOSED', cooldownUntil: null });
    expect(r.stats).to.include({ calls: 1, failures: 0 });
  });

  it('one AUTH_INVALID parks the instance (FORCED_OPEN with the reason) and audits it', async () => {
    const [i] = (await registerInstances(probe.db, [{}])) as [TestInstance];
    await send(producer, names, [callEvent(i, true), callEvent(i, false, { errorType: 'AUTH_INVALID', statusCode: 401 })]);
    const r = await waitForRecord(probe.redis, names, i.id, 'parked', (x) => x.state === 'FORCED_OPEN');
    expect(r.reason).to.match(/AUTH_INVALID/);
    // The audit row is written just after the Redis record (same batch): wait for it rather than race it.
    const rows = await waitFor('the transition audited', async () => {
      const res = await probe.db.query<{ from_state: string; to_state: string; reason: string; actor: string }>(
        'test.transitions', 'SELECT from_state, to_state, reason, actor FROM breaker_transitions WHERE instance_id = $1', [i.id],
      );
      return res.rows.length > 0 ? res.rows : null;
    });
    expect(rows).to.deep.equal([{ from_state: 'CLOSED', to_state: 'FORCED_OPEN', reason: r.reason, actor: 'aggregator' }]);
    // Parked until an admin acts: successes change nothing.
    await send(producer, names, times(5, i, true));
    const after = await waitForRecord(probe.redis, names, i.id, 'successes counted', callsAre(7));
    expect(after.state).to.equal('FORCED_OPEN');
  });

  it('routingParams.breaker.minCalls 3 opens at 3 failures; the default instance needs 5 in a row', async () => {
    const [tuned, plain] = (await registerInstances(probe.db, [{ breaker: { minCalls: 3, bogus: 1 } }, { weight: 2 }])) as [TestInstance, TestInstance];
    await send(producer, names, [...times(3, tuned, false), ...times(3, plain, false)]);
    await waitForRecord(probe.redis, names, tuned.id, 'tuned instance OPEN', (r) => r.state === 'OPEN');
    const p3 = await waitForRecord(probe.redis, names, plain.id, 'plain instance counted 3', callsAre(3));
    expect(p3.state).to.equal('CLOSED');
    await send(producer, names, times(1, plain, false));
    expect((await waitForRecord(probe.redis, names, plain.id, 'plain counted 4', callsAre(4))).state).to.equal('CLOSED');
    await send(producer, names, times(1, plain, false));
    await waitForRecord(probe.redis, names, plain.id, 'plain instance OPEN after 5', (r) => r.state === 'OPEN');
  });

  it('picks up a changed routingParams.breaker once the api announces the change', async () => {
    const [i] = (await registerInstances(probe.db, [{}])) as [TestInstance];
    await send(producer, names, times(2, i, false));
    await waitForRecord(probe.redis, names, i.id, '2 failures counted', callsAre(2));
    await probe.db.query('test.update', `UPDATE api_instances SET routing_params = '{"breaker":{"consecutiveFailures":3}}'::jsonb WHERE id = $1`, [i.id]);
    await probe.redis.publish(new RedisKeys(names.redisPrefix).registryChannel(), JSON.stringify({ kind: 'instances', projectId: i.projectId }));
    await new Promise((r) => setTimeout(r, 200));
    await send(producer, names, times(1, i, false));
    await waitForRecord(probe.redis, names, i.id, 'OPEN at 3 in a row', (r) => r.state === 'OPEN');
  });

  it('announces every instance a batch touched in one message, within 1 s of reaching Kafka', async () => {
    const group = await registerInstances(probe.db, [{}, {}, {}]);
    const ids = new Set(group.map((g) => g.id));
    // Keyed by instance, the three may land on different partitions: one message per partition batch.
    const start = announced.length;
    await send(producer, names, group.map((g) => callEvent(g, true)));
    await waitFor('all three announced', () => {
      const seen = new Set(announced.slice(start).flatMap((a) => Object.keys(a.records)).filter((id) => ids.has(id)));
      return seen.size === 3;
    });
    for (const a of announced.slice(start)) {
      for (const [id, rec] of Object.entries(a.records)) if (ids.has(id)) expect(rec).to.include.keys('state', 'cooldownUntil', 'stats', 'updatedAt');
    }

    // Freshness: report in Kafka → record announced. 20 samples, one at a time.
    const [f] = group as [TestInstance];
    const delays: number[] = [];
    for (let k = 1; k <= 20; k++) {
      const from = announced.length;
      const t0 = Date.now();
      await send(producer, names, [callEvent(f, true)]);
      const got = await waitFor('announcement', () => announced.slice(from).find((a) => a.records[f.id]?.stats?.calls === k + 1));
      delays.push(got.at - t0);
    }
    delays.sort((a, b) => a - b);
    expect(delays[18], `delays ${delays.join(',')}`).to.be.below(1000);
  });
});
