import { expect } from 'chai';
import type { Producer } from 'kafkajs';
import { RedisKeys } from '@apg/platform';
import { openProbe, startAggregator, stackNames, type Probe, type StackNames, type TestAggregator } from '../stack';
import { waitFor } from '../wait-for';
import { callEvent, callsAre, readRecord, registerInstances, send, times, waitForCaughtUp, waitForRecord, windowCalls, type TestInstance } from './fixtures';

/**
 * One effect per event (issue 8 §3): the aggregator is idempotent on `eventId`, not only on offsets. A client
 * retry carries the same eventId at another offset, a producer retry duplicates it, a redelivery after a
 * restart or a rebalance reads it again: each counts once in the window (record stats and the stored window).
 */
describe('aggregator: each eventId counts once (real Kafka, Redis, Postgres)', function () {
  this.timeout(120_000);
  let names: StackNames;
  let keys: RedisKeys;
  let probe: Probe;
  let producer: Producer;
  let aggregator: TestAggregator | null = null;
  let second: TestAggregator | null = null;

  const expectCounted = async (i: TestInstance, calls: number): Promise<void> => {
    await waitForCaughtUp(probe.kafka, names);
    expect((await readRecord(probe.redis, names, i.id))?.stats?.calls, 'record stats').to.equal(calls);
    expect(await windowCalls(probe.redis, names, i.id), 'stored window').to.equal(calls);
  };

  before(async () => {
    names = stackNames();
    keys = new RedisKeys(names.redisPrefix);
    probe = await openProbe(names);
    producer = probe.kafka.producer();
    await producer.connect();
    aggregator = await startAggregator(names);
  });

  after(async () => {
    await second?.close();
    await aggregator?.close();
    await producer?.disconnect();
    await probe?.close();
  });

  it('a client retry (same eventId at another offset) and a producer duplicate (same batch) count once', async () => {
    const [i] = (await registerInstances(probe.db, [{}])) as [TestInstance];
    const retried = callEvent(i, false);
    const duplicated = callEvent(i, false);
    await send(producer, names, [retried]);
    await waitForRecord(probe.redis, names, i.id, 'first call', callsAre(1));
    await send(producer, names, [retried, duplicated, duplicated, callEvent(i, true)]);
    await waitForRecord(probe.redis, names, i.id, 'the new events counted', (r) => (r.stats?.calls ?? 0) >= 3);
    await expectCounted(i, 3);
    expect(await probe.redis.zcard(keys.aggregatorAppliedEvents(i.id)), 'eventIds remembered, bounded').to.equal(3);
    const ttl = await probe.redis.pttl(keys.aggregatorAppliedEvents(i.id));
    expect(ttl, 'the remembered eventIds expire').to.be.within(1, 3600_000);
  });

  it('a redelivery after a restart counts once even when the applied offsets were lost too', async () => {
    const [i] = (await registerInstances(probe.db, [{}])) as [TestInstance];
    await send(producer, names, times(3, i, false));
    await waitForRecord(probe.redis, names, i.id, '3 calls', callsAre(3));
    await aggregator?.close();
    aggregator = null;
    // Kafka commits and the applied-offset hash both gone: only the eventIds stand between us and a double count.
    const admin = probe.kafka.admin();
    await admin.connect();
    await admin.resetOffsets({ groupId: names.aggregatorGroup, topic: names.topic, earliest: true });
    await admin.disconnect();
    await probe.redis.del(keys.aggregatorOffsets(names.aggregatorGroup));
    aggregator = await startAggregator(names);
    await send(producer, names, times(1, i, true));
    await waitForRecord(probe.redis, names, i.id, '4 calls', (r) => (r.stats?.calls ?? 0) >= 4);
    await expectCounted(i, 4);
    expect((await readRecord(probe.redis, names, i.id))?.state, '3 failures, not 6: still closed').to.equal('CLOSED');
  });

  it('the same eventIds sent again after a rebalance count once', async () => {
    const group = await registerInstances(probe.db, Array.from({ length: 6 }, () => ({})));
    const events = group.flatMap((i) => times(2, i, false));
    await send(producer, names, events);
    for (const i of group) await waitForRecord(probe.redis, names, i.id, '2 calls', callsAre(2));
    second = await startAggregator(names);
    await waitFor('the second member holds partitions', () => second?.service.readiness()['assigned'], { timeoutMs: 30_000 });
    // The partitions are spread over two members now; the client retries every report.
    await send(producer, names, [...events, ...group.map((i) => callEvent(i, true))]);
    for (const i of group) await waitForRecord(probe.redis, names, i.id, '3 calls', (r) => (r.stats?.calls ?? 0) >= 3, 30_000);
    for (const i of group) await expectCounted(i, 3);
    expect([...(aggregator?.fatals ?? []), ...second.fatals]).to.deep.equal([]);
  });
});
