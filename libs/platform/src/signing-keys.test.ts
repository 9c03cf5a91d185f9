import { expect } from 'chai';
import { apiKeyDigest, serviceSigningKey, signingKeyIdOfDigest, signingSecretOfDigest } from '@apg/contracts';
import { SigningKeyBook } from './signing-keys';
import type { SigningKeyRow } from './stores/signing-key-store';

const idOf = (apiKey: string) => signingKeyIdOfDigest(apiKeyDigest(apiKey));
const row = (apiKey: string, status = 'ACTIVE'): SigningKeyRow => ({ signingKeyId: idOf(apiKey), keyDigest: apiKeyDigest(apiKey), status, expiresAt: null, projectId: 'p'.repeat(32), projectStatus: 'ACTIVE' });

/** A store that records each query and answers from `rows` as it is at the time. */
function fakeStore(rows: SigningKeyRow[]) {
  const queries: string[][] = [];
  return { queries, rows, keysOf: (ids: readonly string[]) => { queries.push([...ids]); return Promise.resolve(rows.filter((r) => ids.includes(r.signingKeyId))); } };
}

describe('SigningKeyBook', () => {
  let t = 0;
  const now = () => t;
  beforeEach(() => { t = 1_000_000; });

  it('derives the secret from the stored digest, and holds a key for its TTL (a revocation shows after it)', async () => {
    const store = fakeStore([row('gw_a')]);
    const book = new SigningKeyBook(store, [], { ttlMs: 10_000 }, now);
    const first = await book.resolve([idOf('gw_a')]);
    expect(first.get(idOf('gw_a'))?.secret.equals(signingSecretOfDigest(apiKeyDigest('gw_a')))).to.equal(true);
    store.rows[0] = row('gw_a', 'REVOKED');
    t += 9_999;
    expect((await book.resolve([idOf('gw_a')])).get(idOf('gw_a'))?.status).to.equal('ACTIVE');
    expect(store.queries).to.have.length(1);
    t += 1;
    expect((await book.resolve([idOf('gw_a')])).get(idOf('gw_a'))?.status).to.equal('REVOKED');
    expect(store.queries).to.have.length(2);
  });

  it('remembers unknown ids briefly, so a repeated forged id costs no query until then, and a key issued since is found after', async () => {
    const store = fakeStore([]);
    const book = new SigningKeyBook(store, [], { unknownTtlMs: 5000 }, now);
    expect((await book.resolve([idOf('gw_new')])).size).to.equal(0);
    store.rows.push(row('gw_new'));
    t += 4999;
    expect((await book.resolve([idOf('gw_new')])).size).to.equal(0);
    t += 1;
    expect((await book.resolve([idOf('gw_new')])).size).to.equal(1);
    expect(store.queries).to.have.length(2);
  });

  it('never queries for ids that cannot be project key ids, and answers service ids from its own credentials', async () => {
    const store = fakeStore([]);
    const svc = serviceSigningKey('api', 'y'.repeat(32));
    const book = new SigningKeyBook(store, [svc], {}, now);
    const got = await book.resolve(['svc:api', 'svc:other', 'not-hex', 'A'.repeat(32), `${'a'.repeat(32)}x`, '']);
    expect([...got.keys()]).to.deep.equal(['svc:api']);
    expect(got.get('svc:api')?.scope.kind).to.equal('service');
    expect(store.queries).to.have.length(0);
  });

  it('stays bounded under a flood of distinct forged ids (one query per call, maps capped)', async () => {
    const store = fakeStore([row('gw_real')]);
    const book = new SigningKeyBook(store, [], { maxKeys: 2, maxUnknown: 1000 }, now);
    for (let round = 0; round < 50; round++) {
      const ids = Array.from({ length: 100 }, (_, i) => (round * 100 + i).toString(16).padStart(32, '0'));
      await book.resolve([...ids, idOf('gw_real')]);
    }
    expect(store.queries).to.have.length(50);
    expect(book.sizes().unknown).to.be.at.most(1000);
    expect(book.sizes().keys).to.equal(1);
  });

  it('drops the least recently refreshed key when full', async () => {
    const store = fakeStore([row('gw_1'), row('gw_2'), row('gw_3')]);
    const book = new SigningKeyBook(store, [], { maxKeys: 2 }, now);
    await book.resolve([idOf('gw_1')]);
    await book.resolve([idOf('gw_2')]);
    await book.resolve([idOf('gw_3')]);
    expect(book.sizes().keys).to.equal(2);
    store.queries.length = 0;
    await book.resolve([idOf('gw_2'), idOf('gw_3')]);
    expect(store.queries).to.have.length(0);
    await book.resolve([idOf('gw_1')]);
    expect(store.queries).to.have.length(1);
  });

  it('forgetAll: the next resolve reads every key again (a revocation announced by the api applies at once)', async () => {
    const store = fakeStore([row('gw_a')]);
    const book = new SigningKeyBook(store, [], { ttlMs: 60_000 }, now);
    await book.resolve([idOf('gw_a'), idOf('gw_gone')]);
    store.rows[0] = row('gw_a', 'REVOKED');
    book.forgetAll();
    expect((await book.resolve([idOf('gw_a')])).get(idOf('gw_a'))?.status).to.equal('REVOKED');
    expect(store.queries).to.have.length(2);
  });
});
