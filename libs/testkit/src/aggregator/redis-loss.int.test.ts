import { expect } from 'chai';
import type { Producer } from 'kafkajs';
import { initialBreaker, type HealthRecord } from '@apg/core';
import { deleteByPrefix, RedisKeys } from '@apg/platform';
import { openProbe, startAggregator, stackNames, type Probe, type StackNames } from '../stack';
import { waitFor } from '../wait-for';
import { callsAre, readRecord, registerInstances, send, times, waitForRecord, type TestInstance } from './fixtures';

/**
 * Redis losing its data (flushed, or restarted empty): the aggregator rewrites every record within
 * 2 s. Only this stack's prefix is deleted (other runs share the server), never FLUSHALL.
 */
describe('aggregator: Redis data loss (real Kafka, Redis, Postgres)', function () {
  this.timeout(60_000);
  let names: StackNames;
  let keys: RedisKeys;
  let probe: Probe;
  let aggregator: Awaited<ReturnType<typeof startAggregator>>;
  let producer: Producer;
  let open: TestInstance;
  let cooling: TestInstance;
  let failing: TestInstance;
  let forced: TestInstance;
  let quiet: TestInstance;
  const quietRecord: HealthRecord = { ...initialBreaker(1000), state: 'FORCED_OPEN', reason: 'forced by admin', cooldownUntil: null, stats: null, updatedAt: 1000 };

  before(async () => {
    names = stackNames();
    keys = new RedisKeys(names.redisPrefix);
    probe = await openProbe(names);
    [open, cooling, failing, forced, quiet] = (await registerInstances(probe.db, [{}, {}, {}, {}, {}])) as [TestInstance, TestInstance, TestInstance, TestInstance, TestInstance];
    // Written before this aggregator started (by an admin, or a previous aggregator); no event follows.
    await probe.redis.hset(keys.breakerStates(), quiet.id, JSON.stringify(quietRecord));
    aggregator = await startAggregator(names);
    producer = probe.kafka.producer();
    await producer.connect();
  });

  after(async () => {
    await producer?.disconnect();
    await aggregator?.close();
    await probe?.close();
  });

  it('rewrites every record and window within 2 s after the keys are deleted', async () => {
    await send(producer, names, [
      ...times(5, open, false),
      ...times(2, cooling, false, { errorType: 'RATE_LIMITED', retryAfterMs: 120_000 }),
      ...times(3, failing, false),
      ...times(2, forced, true),
    ]);
    const before = {
      open: await waitForRecord(probe.redis, names, open.id, 'OPEN', (r) => r.state === 'OPEN'),
      cooling: await waitForRecord(probe.redis, names, cooling.id, 'cooling', (r) => r.cooldownUntil !== null),
      failing: await waitForRecord(probe.redis, names, failing.id, '3 failures', callsAre(3)),
    };
    const f = { ...initialBreaker(Date.now()), state: 'FORCED_OPEN' as const, reason: 'forced by admin', cooldownUntil: null, stats: null, updatedAt: Date.now() };
    await probe.redis.hset(keys.breakerStates(), forced.id, JSON.stringify(f));
    await probe.redis.publish(keys.controlChannel(), JSON.stringify({ kind: 'forced', instanceId: forced.id }));
    await send(producer, names, times(1, forced, true));
    await waitForRecord(probe.redis, names, forced.id, 'forced, refreshed', (r) => r.state === 'FORCED_OPEN' && r.stats?.calls === 3);

    const lostAt = Date.now();
    expect(await deleteByPrefix(probe.redis, keys)).to.be.greaterThan(0);
    await waitFor('all five records back', async () => {
      const all = await probe.redis.hgetall(keys.breakerStates());
      return [open, cooling, failing, forced, quiet].every((i) => all[i.id] !== undefined);
    }, { timeoutMs: 2000, intervalMs: 20 });
    const restoredIn = Date.now() - lostAt;
    expect(restoredIn).to.be.below(2000);

    expect(await readRecord(probe.redis, names, open.id)).to.include({ state: 'OPEN', since: before.open.since, openUntil: before.open.openUntil });
    expect((await readRecord(probe.redis, names, cooling.id))?.cooldownUntil).to.equal(before.cooling.cooldownUntil);
    expect(await readRecord(probe.redis, names, forced.id)).to.include({ state: 'FORCED_OPEN', since: f.since });
    expect(await readRecord(probe.redis, names, quiet.id)).to.deep.equal(quietRecord);
    expect(await probe.redis.exists(keys.window(failing.id))).to.equal(1);

    // The windows came back too: 2 more failures make 5 in a row.
    await send(producer, names, times(2, failing, false));
    await waitForRecord(probe.redis, names, failing.id, 'OPEN after 5 in a row', (r) => r.state === 'OPEN');
  });
});
