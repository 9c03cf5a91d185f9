import { expect } from 'chai';
import type { KeyAuthRecord } from './api-key-store';
import { KeyCache } from './key-cache';

const record: KeyAuthRecord = { keyId: 'k', status: 'ACTIVE', expiresAt: null, projectId: 'p', projectStatus: 'ACTIVE', defaultStrategy: null, panicMode: false, quotaOverrides: {} };

describe('KeyCache', () => {
  const setup = () => {
    let now = 0;
    let loads = 0;
    let value: KeyAuthRecord | null = record;
    let down = false;
    let stale = 0;
    const cache = new KeyCache(async () => {
      loads++;
      if (down) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
      return value;
    }, { ttlMs: 1000, negativeTtlMs: 100, maxEntries: 10, maxStaleMs: 60_000, onStale: () => stale++, now: () => now });
    return {
      cache, tick: (ms: number) => (now += ms), loads: () => loads, set: (v: KeyAuthRecord | null) => (value = v),
      down: (d: boolean) => (down = d), stale: () => stale,
    };
  };

  it('serves a hit without loading again until the TTL passes', async () => {
    const s = setup();
    await s.cache.get('h');
    await s.cache.get('h');
    expect(s.loads()).to.equal(1);
    s.tick(1000);
    await s.cache.get('h');
    expect(s.loads()).to.equal(2);
  });

  it('caches unknown keys only for the short negative TTL', async () => {
    const s = setup();
    s.set(null);
    expect(await s.cache.get('h')).to.equal(null);
    s.tick(50);
    await s.cache.get('h');
    expect(s.loads()).to.equal(1);
    s.tick(60);
    s.set(record);
    expect(await s.cache.get('h')).to.deep.equal(record);
  });

  it('coalesces concurrent misses into one load', async () => {
    const s = setup();
    await Promise.all([s.cache.get('h'), s.cache.get('h'), s.cache.get('h')]);
    expect(s.loads()).to.equal(1);
  });

  it('reloads after clear(), which is how a revocation reaches every replica', async () => {
    const s = setup();
    await s.cache.get('h');
    s.set({ ...record, status: 'REVOKED' });
    s.cache.clear();
    expect((await s.cache.get('h'))?.status).to.equal('REVOKED');
  });

  it('stays bounded under a flood of unknown keys and keeps the key in use warm (LRU, not a wholesale clear)', async () => {
    const s = setup();
    s.set(record);
    await s.cache.get('real');
    s.set(null);
    for (let i = 0; i < 1000; i++) {
      await s.cache.get(`junk-${i}`);
      // The tenant's key is used between junk requests, as real traffic would: it must never be reloaded.
      if (i % 5 === 0) await s.cache.get('real');
    }
    expect(s.cache.size).to.equal(10);
    expect(s.loads()).to.equal(1 + 1000);
    expect(s.cache.has('real')).to.equal(true);
  });

  it('has() tells whether a get would query: fresh entries only', async () => {
    const s = setup();
    expect(s.cache.has('h')).to.equal(false);
    await s.cache.get('h');
    expect(s.cache.has('h')).to.equal(true);
    s.tick(1000);
    expect(s.cache.has('h')).to.equal(false);
  });

  it('unverified(): never-seen and unknown keys are, a valid key whose entry expired is not', async () => {
    const s = setup();
    expect(s.cache.unverified('good')).to.equal(true);
    await s.cache.get('good');
    s.tick(5000); // past the TTL: a refresh is due, but the key was valid
    expect(s.cache.unverified('good')).to.equal(false);
    s.set(null);
    await s.cache.get('bad');
    expect(s.cache.unverified('bad')).to.equal(false); // fresh negative entry: answered from the cache
    s.tick(200);
    expect(s.cache.unverified('bad')).to.equal(true);
  });

  it('after clear() nothing stale is served, and keys known valid stay "verified" (their refresh is no guess)', async () => {
    const s = setup();
    await s.cache.get('good');
    s.set(null);
    await s.cache.get('bad');
    s.tick(150); // the negative entry is past its TTL
    s.cache.clear();
    expect(s.cache.unverified('good')).to.equal(false);
    expect(s.cache.unverified('bad')).to.equal(true);
    expect(s.cache.has('good')).to.equal(false);
    expect(await s.cache.get('good')).to.equal(null); // reloaded: the key is gone now
    expect(s.loads()).to.equal(3);
  });

  describe('Postgres cannot answer', () => {
    const settle = () => new Promise((r) => setImmediate(r));

    it('serves a key past its TTL at once and reloads behind it; a database answer then wins', async () => {
      const s = setup();
      await s.cache.get('h');
      s.down(true);
      s.tick(5000);
      for (let i = 0; i < 3; i++) expect(await s.cache.get('h')).to.deep.equal(record);
      await settle();
      expect(s.stale()).to.equal(3);
      s.down(false);
      s.set({ ...record, status: 'REVOKED' });
      expect((await s.cache.get('h'))?.status, 'served once more while the reload runs').to.equal('ACTIVE');
      await settle();
      expect((await s.cache.get('h'))?.status).to.equal('REVOKED');
    });

    it('stops at maxStaleMs after the last answer: the failure is the answer then', async () => {
      const s = setup();
      await s.cache.get('h');
      s.down(true);
      s.tick(60_001);
      let failed: unknown = null;
      await s.cache.get('h').catch((e: unknown) => (failed = e));
      expect(failed).to.be.instanceOf(Error);
    });

    it('an announced change is reloaded first, and served stale only when the reload fails', async () => {
      const s = setup();
      await s.cache.get('h');
      s.cache.invalidate({ projectId: 'p' });
      s.down(true);
      expect(await s.cache.get('h')).to.deep.equal(record);
      expect(s.stale()).to.equal(1);
      s.down(false);
      s.set({ ...record, panicMode: true });
      s.cache.invalidate({ keyId: 'k' });
      expect((await s.cache.get('h'))?.panicMode, 'reloaded before being served').to.equal(true);
    });

    it('a denial (revoked key, deactivated project) holds at once without the database', async () => {
      const s = setup();
      await s.cache.get('h');
      await s.cache.get('other');
      s.down(true);
      s.cache.invalidate({ keyId: 'k', denied: true });
      expect(await s.cache.get('h')).to.equal(null);
      s.tick(5000);
      expect(await s.cache.get('h'), 'still denied past the negative TTL').to.equal(null);
      const s2 = setup();
      await s2.cache.get('h');
      s2.down(true);
      s2.cache.invalidate({ projectId: 'elsewhere', denied: true });
      expect(await s2.cache.get('h'), 'another project\'s denial leaves the key alone').to.deep.equal(record);
      s2.cache.invalidate({ projectId: 'p', denied: true });
      expect(await s2.cache.get('h')).to.equal(null);
    });

    it('an unknown key stays unknown, a never-seen key fails (nothing to serve)', async () => {
      const s = setup();
      s.set(null);
      await s.cache.get('bad');
      s.down(true);
      s.tick(200);
      expect(await s.cache.get('bad')).to.equal(null);
      let failed: unknown = null;
      await s.cache.get('never').catch((e: unknown) => (failed = e));
      expect(failed).to.be.instanceOf(Error);
    });
  });
});
