import { expect } from 'chai';
import type { InstanceRecord, InstanceStore } from './instance-store';
import { indexGroup, RegistryCache } from './registry-cache';

const inst = (id: string, apiIdentifier: string, businessId: string): InstanceRecord => ({
  id, projectId: 'p', userId: null, apiIdentifier, apiType: 'MODEL', businessId, routingParams: {}, status: 'ACTIVE', metadata: {},
  createdAt: new Date(0), updatedAt: new Date(0),
});

const ids = (list: readonly InstanceRecord[] | undefined) => (list ?? []).map((i) => i.id);

describe('registry index (indexGroup)', () => {
  const cases: { name: string; group: InstanceRecord[]; want: Record<string, string[]> }[] = [
    { name: 'by identifier and by businessId', group: [inst('1', 'gpt', 'b1'), inst('2', 'gpt', 'b2')], want: { gpt: ['1', '2'], b1: ['1'], b2: ['2'] } },
    { name: 'businessId equal to its identifier is listed once', group: [inst('1', 'x', 'x'), inst('2', 'x', 'y')], want: { x: ['1', '2'], y: ['2'] } },
    // The seed matches apiIdentifier OR businessId: a businessId may name another instance's identifier.
    { name: 'a businessId that is another instance\'s identifier joins that list', group: [inst('1', 'a', 'b'), inst('2', 'b', 'c')], want: { a: ['1'], b: ['1', '2'], c: ['2'] } },
    { name: 'empty group', group: [], want: {} },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const index = indexGroup(c.group);
      expect(Object.fromEntries([...index].map(([k, v]) => [k, ids(v)]))).to.deep.equal(c.want);
    });
  }

  it('is linear: no membership scans, and 100,000 instances of one identifier index in well under the quadratic time', function () {
    this.timeout(30_000);
    const group = Array.from({ length: 100_000 }, (_, i) => inst(String(i), 'same', i % 2 ? `b${i}` : 'same'));
    // The finding was `list.includes` per insert; count every linear scan an implementation could use.
    let scans = 0;
    const originals = { includes: Array.prototype.includes, indexOf: Array.prototype.indexOf, find: Array.prototype.find, some: Array.prototype.some };
    for (const name of Object.keys(originals) as (keyof typeof originals)[]) {
      const original = originals[name] as (...args: unknown[]) => unknown;
      (Array.prototype as unknown as Record<string, unknown>)[name] = function (this: unknown[], ...args: unknown[]) {
        scans++;
        return original.apply(this, args);
      };
    }
    const started = process.hrtime.bigint();
    let index;
    try {
      index = indexGroup(group);
    } finally {
      Object.assign(Array.prototype, originals);
    }
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    expect(scans).to.equal(0);
    expect(index.get('same')).to.have.length(100_000);
    expect(new Set(ids(index.get('same'))).size).to.equal(100_000);
    // ~2.5·10^9 comparisons for the quadratic version; linear takes a few ms even on a loaded machine.
    expect(ms).to.be.lessThan(5000);
  });
});

describe('RegistryCache while Postgres cannot answer', () => {
  const setup = () => {
    let now = 0;
    let down = false;
    let stale = 0;
    let rows = [inst('1', 'gpt', 'b1')];
    const fail = () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    const store = {
      listByProjectAndType: () => (down ? fail() : Promise.resolve(rows)),
      findById: (_p: string, id: string) => (down ? fail() : Promise.resolve(rows.find((r) => r.id === id) ?? null)),
    } as unknown as InstanceStore;
    const cache = new RegistryCache(store, { ttlMs: 1000, maxStaleMs: 60_000, onStale: () => stale++, now: () => now });
    return { cache, tick: (ms: number) => (now += ms), down: (d: boolean) => (down = d), stale: () => stale, setRows: (r: InstanceRecord[]) => (rows = r) };
  };
  const settle = () => new Promise((r) => setImmediate(r));

  it('serves groups and instances seen before, past their TTL and after an announced change, up to maxStaleMs', async () => {
    const s = setup();
    expect(ids(await s.cache.group('p', 'MODEL'))).to.deep.equal(['1']);
    expect((await s.cache.instance('p', '1'))?.id).to.equal('1');
    s.down(true);
    s.tick(30_000);
    expect(ids(await s.cache.group('p', 'MODEL'))).to.deep.equal(['1']);
    expect((await s.cache.instance('p', '1'))?.id).to.equal('1');
    s.cache.invalidateProject('p');
    expect(ids(await s.cache.group('p', 'MODEL')), 'an announced change, reload failed: the old copy').to.deep.equal(['1']);
    expect((await s.cache.instance('p', '1'))?.id).to.equal('1');
    await settle();
    expect(s.stale()).to.be.at.least(3);
    s.tick(30_001);
    let failed: unknown = null;
    await s.cache.group('p', 'MODEL').catch((e: unknown) => (failed = e));
    expect(failed, 'past maxStaleMs the failure is the answer').to.be.instanceOf(Error);
  });

  it('after an announced change a database answer replaces the copy before it is served', async () => {
    const s = setup();
    await s.cache.group('p', 'MODEL');
    s.setRows([inst('2', 'gpt', 'b2')]);
    s.cache.invalidateProject('p');
    expect(ids(await s.cache.group('p', 'MODEL'))).to.deep.equal(['2']);
    expect(await s.cache.instance('p', '1')).to.equal(null);
  });
});
