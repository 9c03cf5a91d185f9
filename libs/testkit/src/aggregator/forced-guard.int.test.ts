import { expect } from 'chai';
import type { Producer } from 'kafkajs';
import { force, initialBreaker, type HealthRecord, type SlidingWindow } from '@apg/core';
import { RedisKeys } from '@apg/platform';
import { openProbe, startAggregator, stackNames, type Probe, type StackNames } from '../stack';
import { waitFor } from '../wait-for';
import { callsAre, readRecord, registerInstances, send, times, waitForRecord, type TestInstance } from './fixtures';

/**
 * The admin's forced states against the aggregator (the api side is played by hand: it writes the
 * record into the hash, announces it, then tells the aggregators on the control channel).
 */
describe('aggregator: forced states win over automatic ones (real Kafka, Redis, Postgres)', function () {
  this.timeout(60_000);
  let names: StackNames;
  let keys: RedisKeys;
  let probe: Probe;
  let aggregator: Awaited<ReturnType<typeof startAggregator>>;
  let producer: Producer;

  async function windowCalls(instanceId: string): Promise<number> {
    const json = await probe.redis.get(keys.window(instanceId));
    return json ? (JSON.parse(json) as SlidingWindow).buckets.reduce((n, b) => n + b.calls, 0) : 0;
  }

  /** What the api's admin endpoint does. `control: false` simulates a lost control message. */
  async function adminForce(i: TestInstance, mode: 'FORCED_OPEN' | 'FORCED_CLOSED' | 'AUTO', control = true): Promise<HealthRecord> {
    const now = Date.now();
    const current = (await readRecord(probe.redis, names, i.id)) ?? { ...initialBreaker(now), cooldownUntil: null, stats: null, updatedAt: now };
    const { snapshot } = force(current, mode, now);
    const record: HealthRecord = { ...snapshot, cooldownUntil: null, stats: current.stats, updatedAt: now };
    await probe.redis.hset(keys.breakerStates(), i.id, JSON.stringify(record));
    await probe.redis.publish(keys.breakerChannel(), JSON.stringify({ records: { [i.id]: record } }));
    if (control) expect(await probe.redis.publish(keys.controlChannel(), JSON.stringify({ kind: 'forced', instanceId: i.id })), 'aggregators told').to.equal(1);
    return record;
  }

  before(async () => {
    names = stackNames();
    keys = new RedisKeys(names.redisPrefix);
    probe = await openProbe(names);
    aggregator = await startAggregator(names);
    producer = probe.kafka.producer();
    await producer.connect();
  });

  after(async () => {
    await producer?.disconnect();
    await aggregator?.close();
    await probe?.close();
  });

  it('keeps FORCED_OPEN through failures and successes, refreshing its stats', async () => {
    const [i] = (await registerInstances(probe.db, [{}])) as [TestInstance];
    await send(producer, names, times(2, i, true));
    await waitForRecord(probe.redis, names, i.id, 'known to the aggregator', callsAre(2));
    const forced = await adminForce(i, 'FORCED_OPEN');
    await send(producer, names, [...times(6, i, false), ...times(4, i, true)]);
    const r = await waitForRecord(probe.redis, names, i.id, '12 calls counted', callsAre(12));
    expect(r).to.include({ state: 'FORCED_OPEN', since: forced.since, reason: 'forced by admin' });
  });

  it('keeps FORCED_CLOSED through 20 failures', async () => {
    const [i] = (await registerInstances(probe.db, [{}])) as [TestInstance];
    await adminForce(i, 'FORCED_CLOSED');
    await send(producer, names, times(20, i, false));
    const r = await waitForRecord(probe.redis, names, i.id, '20 calls counted', callsAre(20));
    expect(r.state).to.equal('FORCED_CLOSED');
  });

  it('does not overwrite a forced record even when the control message is lost', async () => {
    const [i] = (await registerInstances(probe.db, [{}])) as [TestInstance];
    await send(producer, names, times(3, i, false));
    await waitForRecord(probe.redis, names, i.id, '3 failures counted', callsAre(3));
    // The aggregator still holds CLOSED with 3 failures in memory and is not told.
    const forced = await adminForce(i, 'FORCED_OPEN', false);
    await send(producer, names, times(5, i, false));
    // The window snapshot is written whether or not the record was refused.
    await waitFor('8 calls in the window', async () => (await windowCalls(i.id)) === 8);
    const r = await readRecord(probe.redis, names, i.id);
    expect(r).to.include({ state: 'FORCED_OPEN', since: forced.since });
    const { rows } = await probe.db.query<{ n: number }>('test.audit', `SELECT count(*)::int AS n FROM breaker_transitions WHERE instance_id = $1`, [i.id]);
    expect(rows[0]!.n, 'no CLOSED → OPEN audited for a write Redis refused').to.equal(0);
    // Having taken the forced record over, the aggregator refreshes it from then on.
    await send(producer, names, times(1, i, true));
    await waitForRecord(probe.redis, names, i.id, 'stats refreshed under the forced state', (x) => x.state === 'FORCED_OPEN' && (x.stats?.calls ?? 0) >= 9);
  });

  it('AUTO hands the breaker back: counters reset, 5 new failures open it', async () => {
    const [i] = (await registerInstances(probe.db, [{}])) as [TestInstance];
    await send(producer, names, times(4, i, false));
    await waitForRecord(probe.redis, names, i.id, '4 failures counted', callsAre(4));
    await adminForce(i, 'FORCED_OPEN');
    await send(producer, names, times(1, i, false));
    await waitForRecord(probe.redis, names, i.id, 'forced, 5 calls', (r) => r.state === 'FORCED_OPEN' && r.stats?.calls === 5);
    await adminForce(i, 'AUTO');
    expect((await readRecord(probe.redis, names, i.id))!.state).to.equal('CLOSED');
    await send(producer, names, times(4, i, false));
    const r4 = await waitForRecord(probe.redis, names, i.id, '4 new failures counted', (r) => r.stats?.calls === 4 || r.state !== 'CLOSED');
    expect(r4.state, 'the failures before the release no longer count').to.equal('CLOSED');
    await send(producer, names, times(1, i, false));
    await waitForRecord(probe.redis, names, i.id, 'OPEN again', (r) => r.state === 'OPEN');
  });
});
