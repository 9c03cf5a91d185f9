import { expect } from 'chai';
import { DEFAULT_BREAKER_CONFIG, type BreakerConfig } from '@apg/core';
import type { Db, Logger } from '@apg/platform';
import { InstanceConfigStore } from './instance-config-store';

interface Row { id: string; project_id: string; breaker: unknown }

/** A Db fake answering the config query from `rows`, counting queries, failing on demand. */
function fakeDb(rows: Row[]) {
  const state = { queries: 0, fail: false };
  const db = {
    async query(_name: string, _sql: string, params: [string[]]) {
      state.queries++;
      if (state.fail) throw new Error('connection refused');
      return { rows: rows.filter((r) => params[0].includes(r.id)) };
    },
  } as unknown as Db;
  return { db, state };
}

function fakeLog() {
  const warnings: unknown[] = [];
  const log = { warn: (o: unknown) => warnings.push(o), info: () => undefined, debug: () => undefined } as unknown as Logger;
  return { log, warnings };
}

describe('instance config store (routingParams.breaker, cached)', () => {
  const base: BreakerConfig = { ...DEFAULT_BREAKER_CONFIG };
  const rows: Row[] = [
    { id: 'a', project_id: 'p1', breaker: { minCalls: 3 } },
    { id: 'b', project_id: 'p1', breaker: null },
    { id: 'c', project_id: 'p2', breaker: { minCalls: 0, colour: 'red', consecutiveFailures: 2 } },
    { id: 'd', project_id: 'p2', breaker: 'fast' },
  ];
  const cases: { id: string; want: Partial<BreakerConfig>; ignored: string[] | null }[] = [
    { id: 'a', want: { minCalls: 3 }, ignored: null },
    { id: 'b', want: {}, ignored: null },
    { id: 'c', want: { consecutiveFailures: 2 }, ignored: ['minCalls', 'colour'] },
    { id: 'd', want: {}, ignored: ['breaker'] },
    { id: 'gone', want: {}, ignored: null },
  ];
  for (const c of cases) {
    it(`resolves instance ${c.id}`, async () => {
      const { log, warnings } = fakeLog();
      const store = new InstanceConfigStore(fakeDb(rows).db, base, log, { ttlMs: 1000, now: () => 0 });
      expect((await store.configsOf([c.id])).get(c.id)).to.deep.equal({ ...base, ...c.want });
      expect(warnings.map((w) => (w as { ignored: string[] }).ignored)).to.deep.equal(c.ignored ? [c.ignored] : []);
    });
  }

  it('caches for the TTL, re-reads after it or an invalidation, and warns once per bad config', async () => {
    let now = 0;
    const { db, state } = fakeDb(rows);
    const { log, warnings } = fakeLog();
    const store = new InstanceConfigStore(db, base, log, { ttlMs: 1000, now: () => now });
    await store.configsOf(['a', 'c']);
    await store.configsOf(['a', 'c']);
    expect(state.queries).to.equal(1);
    now = 1000;
    await store.configsOf(['a', 'c']);
    expect(state.queries).to.equal(2);
    store.invalidate('p2');
    await store.configsOf(['a']);
    expect(state.queries).to.equal(2);
    await store.configsOf(['c']);
    expect(state.queries).to.equal(3);
    store.invalidate();
    await store.configsOf(['a']);
    expect(state.queries).to.equal(4);
    expect(warnings).to.have.length(1);
  });

  it('keeps serving expired configs while Postgres is down, and throws only for unknown instances', async () => {
    let now = 0;
    const { db, state } = fakeDb(rows);
    const { log } = fakeLog();
    const store = new InstanceConfigStore(db, base, log, { ttlMs: 1000, now: () => now });
    await store.configsOf(['a']);
    state.fail = true;
    now = 5000;
    expect((await store.configsOf(['a'])).get('a')?.minCalls).to.equal(3);
    let thrown: unknown = null;
    await store.configsOf(['a', 'b']).catch((err: unknown) => (thrown = err));
    expect(thrown).to.be.instanceOf(Error);
  });
});
