import { expect } from 'chai';
import type { Producer } from 'kafkajs';
import { openProbe, startAggregator, stackNames, type Probe, type StackNames } from '../stack';
import { callsAre, readRecord, registerInstances, send, times, waitForRecord, type TestInstance } from './fixtures';

/**
 * Restart safety (issue 4 §9, issue 5 §6): the aggregator is stopped mid-way and a new one joins
 * the same consumer group. It must neither forget failures, nor re-close an open breaker, nor count
 * an event twice when the group re-reads the topic.
 */
describe('aggregator: restarts (real Kafka, Redis, Postgres)', function () {
  this.timeout(120_000);
  let names: StackNames;
  let probe: Probe;
  let aggregator: Awaited<ReturnType<typeof startAggregator>> | null = null;
  let producer: Producer;

  const restart = async (): Promise<void> => {
    await aggregator?.close();
    aggregator = await startAggregator(names);
  };

  before(async () => {
    names = stackNames();
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

  it('remembers failures: 3, restart, 2 more open the breaker (5 in a row)', async () => {
    const [i] = (await registerInstances(probe.db, [{}])) as [TestInstance];
    await send(producer, names, times(3, i, false));
    expect((await waitForRecord(probe.redis, names, i.id, '3 failures counted', callsAre(3))).state).to.equal('CLOSED');
    await restart();
    await send(producer, names, times(2, i, false));
    const r = await waitForRecord(probe.redis, names, i.id, 'OPEN after 5', (x) => x.state === 'OPEN');
    expect(r.reason).to.equal('5 consecutive failures');
  });

  it('keeps an OPEN breaker OPEN across a restart', async () => {
    const [i] = (await registerInstances(probe.db, [{}])) as [TestInstance];
    await send(producer, names, times(5, i, false));
    const open = await waitForRecord(probe.redis, names, i.id, 'OPEN', (x) => x.state === 'OPEN');
    await restart();
    // Late successes reach an OPEN breaker: counted in the window, but it stays OPEN until its probes.
    await send(producer, names, times(3, i, true));
    const r = await waitForRecord(probe.redis, names, i.id, 'successes counted', callsAre(8));
    expect(r).to.include({ state: 'OPEN', since: open.since, openUntil: open.openUntil });
  });

  it('hands instances over between two aggregators of one group without double counting', async () => {
    const group = await registerInstances(probe.db, Array.from({ length: 6 }, () => ({})));
    const second = await startAggregator(names);
    try {
      await send(producer, names, group.flatMap((i) => times(3, i, false)));
      for (const i of group) await waitForRecord(probe.redis, names, i.id, '3 failures counted', callsAre(3));
    } finally {
      // Its partitions go back to the first aggregator, which reloads their instances from Redis.
      await second.close();
    }
    await send(producer, names, group.flatMap((i) => times(2, i, false)));
    for (const i of group) {
      const r = await waitForRecord(probe.redis, names, i.id, 'OPEN after 5', (x) => x.state === 'OPEN', 30_000);
      expect(r.stats).to.include({ calls: 5, failures: 5 });
    }
  });

  it('counts each event once when the group re-reads the whole topic after a restart', async () => {
    const [i] = (await registerInstances(probe.db, [{}])) as [TestInstance];
    await send(producer, names, times(3, i, false));
    await waitForRecord(probe.redis, names, i.id, '3 failures counted', callsAre(3));
    await aggregator?.close();
    aggregator = null;
    // As if the commits had been lost: the new member starts from the beginning of every partition.
    const admin = probe.kafka.admin();
    await admin.connect();
    await admin.resetOffsets({ groupId: names.aggregatorGroup, topic: names.topic, earliest: true });
    await admin.disconnect();
    aggregator = await startAggregator(names);
    await send(producer, names, times(1, i, false));
    const r = await waitForRecord(probe.redis, names, i.id, '4 calls counted', (x) => (x.stats?.calls ?? 0) >= 4);
    expect(r.stats?.calls, 'the 3 old failures were not applied again').to.equal(4);
    expect(r.state).to.equal('CLOSED');
    expect((await readRecord(probe.redis, names, i.id))?.stats?.failures).to.equal(4);
  });
});
