import { expect } from 'chai';
import type { Producer } from 'kafkajs';
import { AGGREGATOR_HEARTBEAT_STALE_MS, decodeAggregatorHeartbeat } from '@apg/contracts';
import { RedisKeys } from '@apg/platform';
import { startTcpProxy, type TcpProxy } from '../ingest/tcp-proxy';
import { openProbe, startAggregator, stackNames, type Probe, type StackNames, type TestAggregator } from '../stack';
import { testEnv } from '../test-env';
import { waitFor } from '../wait-for';
import { callsAre, registerInstances, send, times, waitForCaughtUp, waitForRecord, type TestInstance } from './fixtures';

async function metric(a: TestAggregator, name: string): Promise<number> {
  const m = await a.metrics.getSingleMetric(name)?.get();
  return (m?.values ?? []).reduce((s, v) => s + v.value, 0);
}

/**
 * Liveness through a Redis stall longer than the group session (issue 8 §4): the aggregator hangs on Redis
 * with a batch, stops heart-beating the group, is evicted, and must come back by itself — restarting its
 * consumer if kafkajs gave up on it ("The coordinator is not aware of this member") — instead of staying up
 * with `/readyz` 200 and consuming nothing. Meanwhile it says so: `/readyz` 503 and no Redis heartbeat.
 */
describe('aggregator: a Redis stall longer than the session timeout (real Kafka, Redis via a TCP proxy)', function () {
  this.timeout(120_000);
  let names: StackNames;
  let keys: RedisKeys;
  let probe: Probe;
  let producer: Producer;
  let proxy: TcpProxy;
  let aggregator: TestAggregator | null = null;

  before(async () => {
    names = stackNames();
    keys = new RedisKeys(names.redisPrefix);
    probe = await openProbe(names);
    producer = probe.kafka.producer();
    await producer.connect();
    const redis = new URL(testEnv().redisUrl);
    proxy = await startTcpProxy({ host: redis.hostname, port: Number(redis.port || 6379) });
  });

  after(async () => {
    proxy?.resume();
    await aggregator?.close();
    await proxy?.close();
    await producer?.disconnect();
    await probe?.close();
  });

  const heartbeatAge = async (): Promise<number> => {
    const beat = decodeAggregatorHeartbeat(await probe.redis.get(keys.aggregatorHeartbeat()));
    return beat ? Date.now() - beat.at : Infinity;
  };

  it('is unready and silent while stalled, is evicted, and afterwards breakers react again', async () => {
    const [before] = (await registerInstances(probe.db, [{}])) as [TestInstance];
    aggregator = await startAggregator(names, { redisUrl: proxy.rewrite(testEnv().redisUrl), sessionTimeoutMs: 6000, rebalanceTimeoutMs: 6000, maxHeldMs: 2000, heartbeatMs: 200 });
    await send(producer, names, times(1, before, false));
    await waitForRecord(probe.redis, names, before.id, 'first event applied', callsAre(1));
    await waitFor('ready and heart-beating', async () => aggregator!.service.readiness()['assigned'] && (await heartbeatAge()) < AGGREGATOR_HEARTBEAT_STALE_MS, { timeoutMs: 20_000 });
    const ttl = await probe.redis.pttl(keys.aggregatorHeartbeat());
    expect(ttl, 'heartbeat written with PX 30 s').to.be.within(1, 30_000);

    proxy.stall();
    const stalledAt = Date.now();
    await send(producer, names, times(2, before, false));
    await waitFor('/readyz 503: a batch held past the threshold', () => !aggregator!.service.readiness()['batches'], { timeoutMs: 20_000 });
    await waitFor('the heartbeat gone stale', async () => (await heartbeatAge()) > AGGREGATOR_HEARTBEAT_STALE_MS, { timeoutMs: 20_000 });
    // The broker evicts the silent member once its session (6 s) is over: the group is left empty.
    const admin = probe.kafka.admin();
    await admin.connect();
    await waitFor('the stalled member evicted from its group', async () => {
      const { groups } = await admin.describeGroups([names.aggregatorGroup]);
      return groups[0]?.members.length === 0;
    }, { timeoutMs: 30_000, intervalMs: 250 });
    await admin.disconnect();
    const stalledFor = Date.now() - stalledAt;
    proxy.resume();

    // Back by itself: the held batch applied, the consumer back in its group, breakers react again.
    await waitForRecord(probe.redis, names, before.id, 'the held events applied', callsAre(3), 60_000);
    const fresh = await registerInstances(probe.db, Array.from({ length: 6 }, () => ({})));
    await send(producer, names, fresh.flatMap((i) => times(5, i, false)));
    for (const i of fresh) await waitForRecord(probe.redis, names, i.id, 'OPEN after 5 in a row', (r) => r.state === 'OPEN', 60_000);
    await waitFor('ready and heart-beating again', async () => {
      const r = aggregator!.service.readiness();
      return r['assigned'] && r['batches'] && (await heartbeatAge()) < AGGREGATOR_HEARTBEAT_STALE_MS;
    }, { timeoutMs: 30_000 });
    await waitForCaughtUp(probe.kafka, names, 60_000);
    expect(aggregator.fatals, 'recovered in process, no exit needed').to.deep.equal([]);
    console.log(`      redis stalled ${stalledFor} ms; consumer restarts: ${await metric(aggregator, 'apg_aggregator_consumer_restarts_total')}, fenced writes: ${await metric(aggregator, 'apg_aggregator_fenced_writes_total')}`);
  });
});
