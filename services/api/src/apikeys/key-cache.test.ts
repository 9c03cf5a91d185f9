import { expect } from 'chai';
import type { KeyAuthRecord } from './api-key-store';
import { KeyCache } from './key-cache';

const record: KeyAuthRecord = { keyId: 'k', status: 'ACTIVE', expiresAt: null, projectId: 'p', projectStatus: 'ACTIVE', defaultStrategy: null, panicMode: false, quotaOverrides: {} };

describe('KeyCache', () => {
  const setup = () => {
    let now = 0;
    let loads = 0;
    let value: KeyAuthRecord | null = record;
    const cache = new KeyCache(async () => {
      loads++;
      return value;
    }, { ttlMs: 1000, negativeTtlMs: 100, maxEntries: 10, now: () => now });
    return { cache, tick: (ms: number) => (now += ms), loads: () => loads, set: (v: KeyAuthRecord | null) => (value = v) };
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
});
