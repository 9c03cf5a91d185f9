import { expect } from 'chai';
import type { Producer } from 'kafkajs';
import { initialBreaker, type HealthRecord } from '@apg/core';
import { HealthStore } from '@apg/aggregator';
import { RedisKeys } from '@apg/platform';
import { startTcpProxy, type TcpProxy } from '../ingest/tcp-proxy';
import { openProbe, startAggregator, stackNames, type Probe, type StackNames, type TestAggregator } from '../stack';
import { testEnv } from '../test-env';
import { waitFor } from '../wait-for';
import { callsAre, readRecord, registerInstances, send, times, waitForRecord, type TestInstance } from './fixtures';

const record = (calls: number): HealthRecord => ({
  ...initialBreaker(1000), cooldownUntil: null, stats: { calls, failures: 0, slowCalls: 0, failureRate: 0, avgLatencyMs: null, latencyEwmaMs: null }, updatedAt: 1000,
});

async function counter(a: TestAggregator, name: string): Promise<number> {
  const metric = await a.metrics.getSingleMetric(name)?.get();
  return (metric?.values ?? []).reduce((s, v) => s + v.value, 0);
}

/**
 * Generation fencing (issue 8 §4): a member that lost its partition while stalled must not overwrite
 * what the new owner wrote. Real Redis for the script, real Kafka and a stalled member for the rebalance.
 */
describe('aggregator: generation fencing (real Kafka, Redis, Postgres)', function () {
  this.timeout(120_000);
  let names: StackNames;
  let probe: Probe;
  let producer: Producer;
  let proxy: TcpProxy | null = null;
  const running: TestAggregator[] = [];

  before(async () => {
    names = stackNames();
    probe = await openProbe(names);
    producer = probe.kafka.producer();
    await producer.connect();
  });

  after(async () => {
    proxy?.resume();
    for (const a of running) await a.close();
    await proxy?.close();
    await producer?.disconnect();
    await probe?.close();
  });

  it('refuses a write below the partition epoch, and keeps refusing it after Redis lost the epochs', async () => {
    const keys = new RedisKeys(names.redisPrefix);
    const group = `fence-${names.aggregatorGroup}`;
    const a = new HealthStore(probe.redis, keys, group);
    const b = new HealthStore(probe.redis, keys, group);
    const write = (store: HealthStore, epoch: string, calls: number) =>
      store.save({ records: [{ instanceId: 'i', mode: 'normal', record: record(calls) }], windows: [], offset: { field: 't:0', next: String(calls) }, fence: { field: 't:0', epoch }, now: Date.now() });

    const first = await a.claimPartition('t:0');
    expect(first.applied).to.equal(null);
    expect(await write(a, first.epoch, 1)).to.deep.equal({ fenced: false, refused: new Map() });
    const second = await b.claimPartition('t:0');
    expect(BigInt(second.epoch) > BigInt(first.epoch)).to.equal(true);
    expect(second.applied, 'the new owner sees where the old one stopped').to.equal(1n);

    expect(await write(a, first.epoch, 2), 'the old owner is fenced off').to.deep.equal({ fenced: true });
    expect(JSON.parse((await probe.redis.hget(keys.breakerStates(), 'i'))!)).to.deep.include({ stats: record(1).stats });
    expect(await write(b, second.epoch, 3)).to.deep.equal({ fenced: false, refused: new Map() });

    // Redis lost the epochs (flush, restart from an old snapshot): the owner's next write puts its epoch back.
    await probe.redis.del(keys.aggregatorEpochs(group));
    expect(await write(b, second.epoch, 4)).to.deep.equal({ fenced: false, refused: new Map() });
    expect(await write(a, first.epoch, 5)).to.deep.equal({ fenced: true });
    // A claim after the loss still ends up above every earlier one (Redis' clock in µs).
    await probe.redis.del(keys.aggregatorEpochs(group));
    const third = await a.claimPartition('t:0');
    expect(BigInt(third.epoch) > BigInt(second.epoch)).to.equal(true);
    expect(await write(b, second.epoch, 6)).to.deep.equal({ fenced: true });
    expect(JSON.parse((await probe.redis.hget(keys.breakerStates(), 'i'))!)).to.deep.include({ stats: record(4).stats });
  });

  it('a member stalled on Redis through a rebalance cannot overwrite the new owner', async () => {
    const [x] = (await registerInstances(probe.db, [{}])) as [TestInstance];
    const redisUrl = new URL(testEnv().redisUrl);
    proxy = await startTcpProxy({ host: redisUrl.hostname, port: Number(redisUrl.port || 6379) });
    const stale = await startAggregator(names, { redisUrl: proxy.rewrite(testEnv().redisUrl), sessionTimeoutMs: 6000, rebalanceTimeoutMs: 6000 });
    running.push(stale);
    await send(producer, names, times(2, x, false));
    await waitForRecord(probe.redis, names, x.id, '2 failures applied by the first member', callsAre(2));

    proxy.stall();
    await send(producer, names, times(1, x, false));
    // The first member fetched the failure and hangs on Redis with it (no heartbeat to the group meanwhile).
    await waitFor('a batch held by the stalled member', () => !stale.service.readiness()['batches'] || null, { timeoutMs: 20_000 });
    const owner = await startAggregator(names, { sessionTimeoutMs: 6000, rebalanceTimeoutMs: 6000 });
    running.push(owner);
    await waitForRecord(probe.redis, names, x.id, 'the held failure applied by the new owner', callsAre(3), 30_000);
    await send(producer, names, times(2, x, false));
    const open = await waitForRecord(probe.redis, names, x.id, 'OPEN after 5 in a row', (r) => r.state === 'OPEN' && r.stats?.calls === 5, 30_000);

    // The stalled member wakes up with its 3-call CLOSED view of x; its write must be refused.
    const fencedBefore = await counter(stale, 'apg_aggregator_fenced_writes_total');
    proxy.resume();
    await waitFor('the stalled member done with its batch', () => stale.service.readiness()['batches'], { timeoutMs: 30_000 });
    const after = await readRecord(probe.redis, names, x.id);
    expect(after).to.include({ state: 'OPEN', since: open.since });
    expect(after?.stats?.calls).to.equal(5);
    expect(await counter(stale, 'apg_aggregator_fenced_writes_total')).to.be.greaterThan(fencedBefore);
    expect(stale.fatals, 'no bug on the way').to.deep.equal([]);
  });
});
