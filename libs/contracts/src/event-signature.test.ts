import { expect } from 'chai';
import { createHash, createHmac } from 'node:crypto';
import {
  apiKeyDigest,
  macMatches,
  readSignatureClaim,
  serviceSigningKey,
  SIGNATURE_HEADER,
  SIGNATURE_KEY_ID_HEADER,
  signEvent,
  signingKeyIdOfDigest,
  signingSecretOfDigest,
  signWithSecret,
} from './event-signature';

describe('event signature', () => {
  const apiKey = 'apg_live_0123456789abcdef';
  const value = Buffer.from('{"eventId":"x"}');

  it('follows the documented derivation step by step (what the README recipe computes)', () => {
    const digest = createHash('sha256').update(apiKey).digest('hex');
    const keyId = createHash('sha256').update(`apg-key-id:v1:${digest}`).digest('hex').slice(0, 32);
    const secret = createHmac('sha256', digest).update('apg-event-signing:v1').digest();
    const mac = createHmac('sha256', secret).update(value).digest('hex');
    expect(signEvent(value, apiKey)).to.deep.equal({ [SIGNATURE_KEY_ID_HEADER]: keyId, [SIGNATURE_HEADER]: `v1=${mac}` });
    expect(apiKeyDigest(apiKey)).to.equal(digest);
    expect(signingKeyIdOfDigest(digest)).to.equal(keyId);
  });

  it('signs a string and the same bytes identically', () => {
    expect(signEvent(value.toString('utf8'), apiKey)).to.deep.equal(signEvent(value, apiKey));
  });

  it('verifies from the stored digest alone, and rejects another value or another key', () => {
    const claim = readSignatureClaim(signEvent(value, apiKey));
    if (!claim.ok) throw new Error(claim.detail);
    const secret = signingSecretOfDigest(apiKeyDigest(apiKey));
    expect(macMatches(value, secret, claim.mac)).to.equal(true);
    expect(macMatches(Buffer.from('{"eventId":"y"}'), secret, claim.mac)).to.equal(false);
    expect(macMatches(value, signingSecretOfDigest(apiKeyDigest('other')), claim.mac)).to.equal(false);
  });

  it('reads headers in every shape kafkajs hands them over', () => {
    const h = signEvent(value, apiKey);
    const asBuffers = Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Buffer.from(v)]));
    const asArrays = Object.fromEntries(Object.entries(h).map(([k, v]) => [k, [Buffer.from(v)]]));
    for (const headers of [h, asBuffers, asArrays]) expect(readSignatureClaim(headers).ok).to.equal(true);
  });

  const bad: [string, Record<string, unknown> | undefined, 'unsigned' | 'bad_signature'][] = [
    ['no headers', undefined, 'unsigned'],
    ['only a key id (half a signature is refused even in migration mode)', { [SIGNATURE_KEY_ID_HEADER]: 'abc' }, 'bad_signature'],
    ['only a signature', { [SIGNATURE_HEADER]: `v1=${'0'.repeat(64)}` }, 'bad_signature'],
    ['no version prefix', { [SIGNATURE_KEY_ID_HEADER]: 'abc', [SIGNATURE_HEADER]: '0'.repeat(64) }, 'bad_signature'],
    ['short mac', { [SIGNATURE_KEY_ID_HEADER]: 'abc', [SIGNATURE_HEADER]: 'v1=abcd' }, 'bad_signature'],
    ['uppercase hex', { [SIGNATURE_KEY_ID_HEADER]: 'abc', [SIGNATURE_HEADER]: `v1=${'A'.repeat(64)}` }, 'bad_signature'],
    ['a megabyte key id', { [SIGNATURE_KEY_ID_HEADER]: Buffer.alloc(1 << 20, 97), [SIGNATURE_HEADER]: `v1=${'0'.repeat(64)}` }, 'bad_signature'],
    ['repeated signature header', { [SIGNATURE_KEY_ID_HEADER]: 'abc', [SIGNATURE_HEADER]: ['v1=', 'v1='] }, 'bad_signature'],
    ['empty key id', { [SIGNATURE_KEY_ID_HEADER]: '', [SIGNATURE_HEADER]: `v1=${'0'.repeat(64)}` }, 'bad_signature'],
  ];
  for (const [what, headers, reason] of bad) {
    it(`${what} → ${reason}`, () => {
      const claim = readSignatureClaim(headers);
      expect(claim.ok).to.equal(false);
      if (!claim.ok) expect(claim.reason).to.equal(reason);
    });
  }

  it('service credentials have their own key id space and a secret that is not the raw configured string', () => {
    const svc = serviceSigningKey('api', 's3cret');
    expect(svc.keyId).to.equal('svc:api');
    expect(svc.secret.equals(Buffer.from('s3cret'))).to.equal(false);
    const claim = readSignatureClaim(signWithSecret(value, svc.keyId, svc.secret));
    expect(claim.ok && macMatches(value, svc.secret, claim.mac)).to.equal(true);
  });
});
