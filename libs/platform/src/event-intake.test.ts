import { expect } from 'chai';
import type { KafkaMessage } from 'kafkajs';
import { apiKeyDigest, CALL_RESULT_SCHEMA_VERSION, MAX_CALL_TIMESTAMP_SKEW_MS, serviceSigningKey, signEvent, signingKeyIdOfDigest, signWithSecret } from '@apg/contracts';
import { admitEvents } from './event-intake';
import type { InstanceDirectory } from './instance-directory';
import { SigningKeyBook, type SigningPolicy } from './signing-keys';
import type { SigningKeyRow } from './stores/signing-key-store';

const NOW = Date.parse('2026-11-30T12:00:00Z');
const RETENTION = 7 * 86_400_000;
const PROJECT = 'b'.repeat(32);
const OTHER = 'c'.repeat(32);
const INSTANCE = 'a'.repeat(32);
const STRANGER = 'd'.repeat(32);

/** Owners as the registry would answer; the look-up is the only I/O of intake. */
const directory = { ownersOf: (ids: Iterable<string>) => Promise.resolve(new Map([...ids].filter((i) => i !== 'e'.repeat(32)).map((i) => [i, i === STRANGER ? OTHER : PROJECT]))) } as unknown as InstanceDirectory;

/** Keys as Postgres would hold them: PROJECT's key, OTHER's key, a revoked and an expired key of PROJECT, a key of no project. */
const KEY = 'gw_project-key', PAUSED = 'gw_paused', OTHER_KEY = 'gw_other-key', REVOKED = 'gw_revoked', EXPIRED = 'gw_expired', LAPSED = 'gw_lapsed', ORPHAN = 'gw_orphan';
const SERVICE = serviceSigningKey('api', 'x'.repeat(32));
const rowOf = (apiKey: string, status: string, projectId: string | null, expiresAt: number | null = null, projectStatus: string | null = projectId && 'ACTIVE'): SigningKeyRow =>
  ({ signingKeyId: signingKeyIdOfDigest(apiKeyDigest(apiKey)), keyDigest: apiKeyDigest(apiKey), status, expiresAt, projectId, projectStatus });
const rows = [rowOf(KEY, 'ACTIVE', PROJECT), rowOf(OTHER_KEY, 'ACTIVE', OTHER), rowOf(REVOKED, 'REVOKED', PROJECT), rowOf(EXPIRED, 'EXPIRED', PROJECT),
  rowOf(LAPSED, 'ACTIVE', PROJECT, NOW), rowOf(ORPHAN, 'UNUSED', null), rowOf(PAUSED, 'ACTIVE', PROJECT, null, 'INACTIVE')];
const store = { keysOf: (ids: readonly string[]) => Promise.resolve(rows.filter((r) => ids.includes(r.signingKeyId))) };
const signing = (requireSigned = true): SigningPolicy => ({ keys: new SigningKeyBook(store, [SERVICE], {}, () => NOW), requireSigned });

let offset = 0;
type Signer = (value: Buffer) => Record<string, string | Buffer | (string | Buffer)[]>;
const byKey = (apiKey: string): Signer => (value) => signEvent(value, apiKey);
const message = (over: Record<string, unknown> = {}, raw?: string, sign: Signer | null = byKey(KEY)): KafkaMessage => {
  const value = Buffer.from(raw ?? JSON.stringify({
    eventId: '00000000-0000-4000-8000-000000000001', schemaVersion: CALL_RESULT_SCHEMA_VERSION, projectId: PROJECT, instanceId: INSTANCE,
    apiIdentifier: 'gpt4o', apiType: 'MODEL', businessId: 'b1', success: true, latencyMs: 5, callTimestamp: NOW, ...over,
  }));
  return { offset: String(offset++), key: null, timestamp: '0', attributes: 0, headers: sign ? sign(value) : {}, value };
};

const cases: [string, KafkaMessage, string][] = [
  ['an ordinary event', message(), 'admitted'],
  ['dated now + 5 min exactly', message({ callTimestamp: NOW + MAX_CALL_TIMESTAMP_SKEW_MS }), 'admitted'],
  ['dated now + 5 min + 1 ms', message({ callTimestamp: NOW + MAX_CALL_TIMESTAMP_SKEW_MS + 1 }), 'timestamp_out_of_range'],
  ['dated in 2100', message({ callTimestamp: Date.parse('2100-01-01T00:00:00Z') }), 'timestamp_out_of_range'],
  ['dated at 2^53 − 1', message({ callTimestamp: Number.MAX_SAFE_INTEGER }), 'timestamp_out_of_range'],
  ['dated exactly the retention ago', message({ callTimestamp: NOW - RETENTION }), 'admitted'],
  ['dated 1 ms before the retention', message({ callTimestamp: NOW - RETENTION - 1 }), 'timestamp_out_of_range'],
  ['dated 0 (1970)', message({ callTimestamp: 0 }), 'timestamp_out_of_range'],
  ['too large', message({ errorMessage: 'x'.repeat(1000) }), 'oversized'],
  ['not JSON', message({}, '{"eventId":'), 'malformed_json'],
  ['a newer schema version', message({ schemaVersion: 2 }), 'unknown_schema_version'],
  ['a negative latency', message({ latencyMs: -1 }), 'invalid_event'],
  ['an unregistered instance', message({ instanceId: 'e'.repeat(32) }), 'unknown_instance'],
  ['another tenant\'s instance', message({ instanceId: STRANGER }), 'foreign_instance'],
  ['out of range and another tenant\'s: the timestamp is checked first, without a look-up', message({ instanceId: STRANGER, callTimestamp: 0 }), 'timestamp_out_of_range'],
  // Signatures.
  ['signed by the api\'s service credential', message({}, undefined, (v) => signWithSecret(v, SERVICE.keyId, SERVICE.secret)), 'admitted'],
  ['unsigned', message({}, undefined, null), 'unsigned'],
  ['unsigned and not JSON: refused as unsigned, never parsed', message({}, '{"eventId":', null), 'unsigned'],
  ['a MAC of other bytes', message({}, undefined, () => signEvent('{}', KEY)), 'bad_signature'],
  ['a MAC with the right key id and a wrong secret', message({}, undefined, (v) => ({ ...signEvent(v, 'gw_wrong'), 'apg-key-id': signEvent(v, KEY)['apg-key-id']! })), 'bad_signature'],
  ['the service key id with a project key\'s MAC', message({}, undefined, (v) => ({ ...signEvent(v, KEY), 'apg-key-id': 'svc:api' })), 'bad_signature'],
  ['a malformed signature header', message({}, undefined, (v) => ({ ...signEvent(v, KEY), 'apg-signature': 'sha256=abc' })), 'bad_signature'],
  ['half a signature (key id only)', message({}, undefined, (v) => ({ 'apg-key-id': signEvent(v, KEY)['apg-key-id']! })), 'bad_signature'],
  ['signed by a key nobody has', message({}, undefined, byKey('gw_never-issued')), 'unknown_key'],
  ['a key id that is not 32 hex', message({}, undefined, (v) => ({ ...signEvent(v, KEY), 'apg-key-id': 'DROP TABLE api_keys' })), 'unknown_key'],
  ['an unknown service', message({}, undefined, (v) => signWithSecret(v, 'svc:ingestor', SERVICE.secret)), 'unknown_key'],
  ['signed by a revoked key', message({}, undefined, byKey(REVOKED)), 'revoked_key'],
  ['signed by an EXPIRED key', message({}, undefined, byKey(EXPIRED)), 'expired_key'],
  ['signed by an ACTIVE key past its expires_at', message({}, undefined, byKey(LAPSED)), 'expired_key'],
  ['another project\'s key for this project\'s instance', message({}, undefined, byKey(OTHER_KEY)), 'key_project_mismatch'],
  ['another project\'s key claiming that project for this instance', message({ projectId: OTHER }, undefined, byKey(OTHER_KEY)), 'foreign_instance'],
  ['a key of no project', message({}, undefined, byKey(ORPHAN)), 'key_project_mismatch'],
  ['the active key of a deactivated project', message({}, undefined, byKey(PAUSED)), 'inactive_project'],
];

describe('admitEvents', () => {
  for (const [name, m, want] of cases) {
    it(`${name} → ${want}`, async () => {
      const intake = await admitEvents([m], 3, directory, signing(), { maxBytes: 600, now: NOW, retentionMs: RETENTION });
      const got = intake.admitted.length === 1 ? 'admitted' : intake.rejected[0]?.reason;
      expect(got).to.equal(want);
      expect(intake.admitted.length + intake.rejected.length).to.equal(1);
      for (const r of intake.rejected) expect(r.partition).to.equal(3);
    });
  }

  it('REQUIRE_SIGNED_EVENTS=false: unsigned events count (and are counted as such); a present, wrong signature does not', async () => {
    const unsigned = message({}, undefined, null);
    const forged = message({}, undefined, () => signEvent('{}', KEY));
    const half = message({}, undefined, (v) => ({ 'apg-signature': signEvent(v, KEY)['apg-signature']! }));
    const revoked = message({}, undefined, byKey(REVOKED));
    const signed = message();
    const intake = await admitEvents([unsigned, forged, half, revoked, signed], 0, directory, signing(false), { maxBytes: 600, now: NOW, retentionMs: RETENTION });
    expect(intake.admitted.map((a) => a.message)).to.deep.equal([unsigned, signed]);
    expect(intake.unsignedAdmitted).to.equal(1);
    expect(intake.rejected.map((r) => r.reason)).to.deep.equal(['bad_signature', 'bad_signature', 'revoked_key']);
  });

  it('a batch of many events signed by few keys costs one key query', async () => {
    let queries = 0;
    const counting = { keysOf: (ids: readonly string[]) => { queries++; return store.keysOf(ids); } };
    const policy: SigningPolicy = { keys: new SigningKeyBook(counting, [SERVICE], {}, () => NOW), requireSigned: true };
    const batch = Array.from({ length: 200 }, (_, i) => message({}, undefined, byKey(i % 2 ? KEY : `gw_forged-${i}`)));
    const intake = await admitEvents(batch, 0, directory, policy, { maxBytes: 600, now: NOW, retentionMs: RETENTION });
    expect(intake.admitted).to.have.length(100);
    expect(intake.rejected.every((r) => r.reason === 'unknown_key')).to.equal(true);
    expect(queries).to.equal(1);
    await admitEvents(batch, 0, directory, policy, { maxBytes: 600, now: NOW, retentionMs: RETENTION });
    expect(queries, 'known and unknown ids are both remembered').to.equal(1);
  });
});
