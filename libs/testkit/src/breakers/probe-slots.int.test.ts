import { expect } from 'chai';
import { ProbePermits } from '@apg/api';
import { createRedis, ProbeSlots, RedisKeys, type Redis } from '@apg/platform';
import { testEnv, uniqueName } from '../test-env';

const INSTANCE = 'i'.repeat(32);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A Redis circuit that lets every call through, or one that is open (every call refused at once). */
const through = { run: <T>(_name: string, fn: () => Promise<T>) => fn() };
const open = { run: async () => Promise.reject(new Error('[redis] skipped: the Redis circuit is open')) };

/**
 * Half-open probe slots on the real Redis, as two api replicas (two ProbePermits over one Redis) and an
 * aggregator (ProbeSlots.settle) use them: a probe's report settles its slot wherever it arrives, at most
 * `limit` probes of an instance are out at a time whatever episode each replica's verdict names, and a
 * probe the breaker reopened on holds its slot until the breaker may probe again (the hold given).
 */
describe('probe slots across replicas (real Redis)', function () {
  this.timeout(20_000);
  let redis: Redis;
  let keys: RedisKeys;
  let slots: ProbeSlots;
  const errors: Error[] = [];
  const replica = () => new ProbePermits(slots, through, (err) => errors.push(err));

  beforeEach(() => {
    redis = createRedis(testEnv().redisUrl);
    keys = new RedisKeys(`${testEnv().redisPrefix}${uniqueName('probes')}:`);
    slots = new ProbeSlots(redis, keys);
    errors.length = 0;
  });

  afterEach(async () => {
    expect(errors).to.deep.equal([]);
    const left = await redis.keys(`${keys.prefix}*`);
    if (left.length > 0) await redis.del(...left);
    redis.disconnect();
  });

  const outNow = async () => (await redis.zrange(keys.probesOut(INSTANCE), 0, -1)).sort();
  /** Settles are not awaited by ProbePermits: wait until Redis shows them. */
  const settled = async (members: string[]) => {
    for (let i = 0; i < 100 && JSON.stringify(await outNow()) !== JSON.stringify([...members].sort()); i++) await sleep(10);
    expect(await outNow()).to.deep.equal([...members].sort());
  };

  it('a probe reported on another replica frees its slot for the next episode on the replica that handed it out', async () => {
    const a = replica();
    const b = replica();
    expect(await a.tryAcquire(INSTANCE, 1000, 'p1.probe', 1, 60_000)).to.equal(true);
    expect(await b.tryAcquire(INSTANCE, 2000, 'p2.probe', 1, 60_000)).to.equal(false);
    b.settle(INSTANCE, 'p1.probe', 0);
    await settled([]);
    // Before, replica a kept p1 in process until its lease lapsed (minutes), whoever took the report.
    expect(await a.tryAcquire(INSTANCE, 2000, 'p3.probe', 1, 60_000)).to.equal(true);
  });

  it('at most `limit` probes out at a time across replicas, even when their verdicts name different episodes', async () => {
    const a = replica();
    const b = replica();
    expect(await a.tryAcquire(INSTANCE, 1000, 'p1.probe', 2, 60_000)).to.equal(true);
    expect(await b.tryAcquire(INSTANCE, 1500, 'p2.probe', 2, 60_000)).to.equal(true);
    expect(await a.tryAcquire(INSTANCE, 1500, 'p3.probe', 2, 60_000)).to.equal(false);
    expect(await b.tryAcquire(INSTANCE, 1000, 'p4.probe', 2, 60_000)).to.equal(false);
    expect(await outNow()).to.deep.equal(['p1.probe', 'p2.probe']);
  });

  it('one episode admits `limit` probes in total across replicas, even after they were settled', async () => {
    const a = replica();
    const b = replica();
    expect(await a.tryAcquire(INSTANCE, 1000, 'p1.probe', 2, 60_000)).to.equal(true);
    expect(await b.tryAcquire(INSTANCE, 1000, 'p2.probe', 2, 60_000)).to.equal(true);
    a.settle(INSTANCE, 'p1.probe', 0);
    b.settle(INSTANCE, 'p2.probe', 0);
    await settled([]);
    expect(await a.tryAcquire(INSTANCE, 1000, 'p3.probe', 2, 60_000)).to.equal(false);
    expect(await replica().tryAcquire(INSTANCE, 1000, 'p4.probe', 2, 60_000)).to.equal(false);
    expect(await replica().tryAcquire(INSTANCE, 3000, 'p5.probe', 2, 60_000)).to.equal(true);
  });

  it('a probe settled with a hold (the breaker reopened on it) keeps its slot for every replica and episode, then frees it', async () => {
    const a = replica();
    const b = replica();
    expect(await a.tryAcquire(INSTANCE, 1000, 'p1.probe', 1, 60_000)).to.equal(true);
    b.settle(INSTANCE, 'p1.probe', 400);
    await settled(['h:p1.probe']);
    expect(await b.tryAcquire(INSTANCE, 2000, 'p2.probe', 1, 60_000)).to.equal(false);
    expect(await replica().tryAcquire(INSTANCE, 3000, 'p3.probe', 1, 60_000)).to.equal(false);
    await sleep(450);
    expect(await replica().tryAcquire(INSTANCE, 3000, 'p4.probe', 1, 60_000)).to.equal(true);
    expect(await outNow()).to.deep.equal(['p4.probe']);
  });

  it('the aggregator settling a probe the api already settled changes nothing, and never re-holds a lapsed slot', async () => {
    const a = replica();
    expect(await a.tryAcquire(INSTANCE, 1000, 'p1.probe', 1, 60_000)).to.equal(true);
    expect(await slots.settle(INSTANCE, 'p1.probe', 200)).to.equal(true);
    const held = await redis.zscore(keys.probesOut(INSTANCE), 'h:p1.probe');
    await sleep(20);
    expect(await slots.settle(INSTANCE, 'p1.probe', 200)).to.equal(false);
    // The second settle did not push the hold out.
    expect(await redis.zscore(keys.probesOut(INSTANCE), 'h:p1.probe')).to.equal(held);
    await sleep(250);
    expect(await slots.settle(INSTANCE, 'p1.probe', 60_000)).to.equal(false);
    expect(await a.tryAcquire(INSTANCE, 2000, 'p2.probe', 1, 60_000)).to.equal(true);
    // A success settled twice (HTTP report, then the aggregator) frees it once.
    expect(await slots.settle(INSTANCE, 'p2.probe', 0)).to.equal(true);
    expect(await slots.settle(INSTANCE, 'p2.probe', 0)).to.equal(false);
    expect(await outNow()).to.deep.equal([]);
  });

  it('a probe that never reports frees its slot (and its episode count) when its lease lapses', async () => {
    const a = replica();
    expect(await a.tryAcquire(INSTANCE, 1000, 'p1.probe', 1, 300)).to.equal(true);
    expect(await replica().tryAcquire(INSTANCE, 1000, 'p2.probe', 1, 300)).to.equal(false);
    await sleep(350);
    expect(await replica().tryAcquire(INSTANCE, 1000, 'p3.probe', 1, 300)).to.equal(true);
    expect(await outNow()).to.deep.equal(['p3.probe']);
  });

  it('a settle arriving after the slot lapsed (its lease ran out) holds nothing', async () => {
    const a = replica();
    expect(await a.tryAcquire(INSTANCE, 1000, 'p1.probe', 1, 100)).to.equal(true);
    await sleep(150);
    expect(await slots.settle(INSTANCE, null, 60_000)).to.equal(false);
    expect(await slots.settle(INSTANCE, 'p1.probe', 60_000)).to.equal(false);
    expect(await outNow()).to.deep.equal([]);
    expect(await a.tryAcquire(INSTANCE, 2000, 'p2.probe', 1, 60_000)).to.equal(true);
  });

  it('a report naming no selection settles the oldest probe out', async () => {
    const a = replica();
    expect(await a.tryAcquire(INSTANCE, 1000, 'p1.probe', 3, 60_000)).to.equal(true);
    await sleep(5);
    expect(await a.tryAcquire(INSTANCE, 1000, 'p2.probe', 3, 60_000)).to.equal(true);
    replica().settle(INSTANCE, null, 60_000);
    await settled(['h:p1.probe', 'p2.probe']);
    replica().settle(INSTANCE, null, 0);
    await settled(['h:p1.probe']);
    replica().settle(INSTANCE, null, 0);
    await sleep(50);
    expect(await outNow()).to.deep.equal(['h:p1.probe']);
  });

  it('with Redis unreachable each replica keeps its own count and slots, held after a failure like the shared ones', async () => {
    const a = new ProbePermits(slots, open, () => undefined);
    expect(await a.tryAcquire(INSTANCE, 1000, 'p1.probe', 2, 60_000)).to.equal(true);
    expect(await a.tryAcquire(INSTANCE, 1000, 'p2.probe', 2, 60_000)).to.equal(true);
    expect(await a.tryAcquire(INSTANCE, 2000, 'p3.probe', 2, 60_000)).to.equal(false);
    a.settle(INSTANCE, 'p1.probe', 60_000);
    a.settle(INSTANCE, 'p2.probe', 0);
    // The episode's two permits are spent; a new episode finds one slot held (p1 failed) and one free.
    expect(await a.tryAcquire(INSTANCE, 1000, 'p4.probe', 2, 60_000)).to.equal(false);
    expect(await a.tryAcquire(INSTANCE, 2000, 'p5.probe', 2, 60_000)).to.equal(true);
    expect(await a.tryAcquire(INSTANCE, 3000, 'p6.probe', 2, 60_000)).to.equal(false);
    // Nothing reached Redis: another replica's count is its own.
    expect(await outNow()).to.deep.equal([]);
  });
});
