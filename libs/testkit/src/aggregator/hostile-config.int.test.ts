import { expect } from 'chai';
import type { Producer } from 'kafkajs';
import { openProbe, startAggregator, stackNames, type Probe, type StackNames, type TestAggregator } from '../stack';
import { callsAre, readRecord, registerInstances, send, times, waitForCaughtUp, waitForRecord, windowCalls } from './fixtures';

/**
 * Issue 8 §2, as it was seen: absurd `routingParams.breaker` values written straight into Postgres (the api's
 * bounds bypassed, as an old row would be), one report on each, then another project's 24 instances failing
 * 6 times each. Before, the first report made Redis refuse the batch (`PX 1e+21`) for ever, for every
 * tenant, across restarts. Now the stored config is re-validated when read and every number sent to Redis
 * is clamped: the reports count, all 24 breakers open, the offsets reach the end of the log.
 */
describe('aggregator: absurd stored breaker configs cannot wedge it (real Kafka, Redis, Postgres)', function () {
  this.timeout(120_000);
  let names: StackNames;
  let probe: Probe;
  let producer: Producer;
  let aggregator: TestAggregator | null = null;

  before(async () => {
    names = stackNames();
    probe = await openProbe(names);
    producer = probe.kafka.producer();
    await producer.connect();
  });

  after(async () => {
    await aggregator?.close();
    await producer?.disconnect();
    await probe?.close();
  });

  const absurd: Record<string, unknown>[] = [
    { breaker: { windowMs: 1e21 } },
    { breaker: { openDurationMs: 1e21 } },
    { breaker: { minCalls: 1e15 } },
    { breaker: { halfOpenProbes: 1e12 } },
    { breaker: { slowCallMs: 1e300 } },
    { breaker: { windowMs: 0.5 } },
    { breaker: { windowMs: 1e21, openDurationMs: 1e21, maxOpenDurationMs: 1e21, minCalls: 1e15, halfOpenProbes: 1e12, slowCallMs: 1e300, consecutiveFailures: 1 } },
    { breaker: { windowMs: -1, failureRateThreshold: 1e9, consecutiveFailures: 0 } },
    { breaker: { windowMs: '1e21', minCalls: null } },
    { breaker: 'not an object' },
  ];

  it('one report on each absurd config, then 24 instances of another project with 6 failures each: all 24 open', async () => {
    const hostile = await registerInstances(probe.db, absurd);
    aggregator = await startAggregator(names);
    await send(producer, names, hostile.flatMap((i) => times(1, i, false)));
    for (const i of hostile) await waitForRecord(probe.redis, names, i.id, 'the hostile report counted', callsAre(1));

    const victims = await registerInstances(probe.db, Array.from({ length: 24 }, () => ({})));
    await send(producer, names, victims.flatMap((i) => times(6, i, false)));
    for (const i of victims) {
      const r = await waitForRecord(probe.redis, names, i.id, 'OPEN after 6 failures', (x) => x.state === 'OPEN', 30_000);
      expect(r.stats).to.include({ calls: 6, failures: 6 });
    }
    await waitForCaughtUp(probe.kafka, names);
    expect(aggregator.fatals).to.deep.equal([]);

    // And after a restart the same events are not a trap either (they are already applied: nothing twice).
    await aggregator.close();
    aggregator = await startAggregator(names);
    await send(producer, names, hostile.flatMap((i) => times(1, i, true)));
    for (const i of hostile) {
      await waitForRecord(probe.redis, names, i.id, 'the second report counted', callsAre(2));
      expect(await windowCalls(probe.redis, names, i.id)).to.equal(2);
    }
    const ttl = await probe.redis.pttl(`${names.redisPrefix}window:${hostile[0]!.id}`);
    expect(ttl, 'the window TTL is bounded, not 1e21').to.be.within(1, 24 * 3600_000);
    for (const i of victims) expect((await readRecord(probe.redis, names, i.id))?.state).to.equal('OPEN');
    await waitForCaughtUp(probe.kafka, names);
    expect(aggregator.fatals).to.deep.equal([]);
  });
});
