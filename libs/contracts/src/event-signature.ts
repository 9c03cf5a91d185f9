import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed events on `apg.call-results`. Anyone who can reach the broker can write to the topic, so an event
 * counts only when it carries proof of who published it: the headers below, with an HMAC-SHA256 of the
 * message value under a secret derived from the project's API key. Consumers verify from what Postgres
 * stores (the key's SHA-256 digest), so keys are never stored in plaintext. Derivation, for any language:
 *
 * ```
 * keyDigest = hex(SHA-256(utf8(apiKey)))                                   // = api_keys.key_hash
 * keyId     = hex(SHA-256(utf8("apg-key-id:v1:" + keyDigest)))[0:32]      // header apg-key-id
 * secret    = HMAC-SHA256(key = utf8(keyDigest), msg = utf8("apg-event-signing:v1"))   // 32 bytes
 * signature = "v1=" + hex(HMAC-SHA256(key = secret, msg = value bytes))   // header apg-signature
 * ```
 *
 * The value is signed byte for byte as it is on the topic (no re-serialisation), so a publisher signs the
 * exact bytes it sends. Replaying a signed message adds nothing: its `eventId` is counted once.
 */
export const SIGNATURE_KEY_ID_HEADER = 'apg-key-id';
export const SIGNATURE_HEADER = 'apg-signature';
export const SIGNATURE_VERSION_PREFIX = 'v1=';

/** Key ids of service credentials (the api's own events) start with this; project key ids are 32 hex. */
export const SERVICE_KEY_ID_PREFIX = 'svc:';

const KEY_ID_CONTEXT = 'apg-key-id:v1:';
const SECRET_CONTEXT = 'apg-event-signing:v1';

/** SHA-256 hex of an API key: what Postgres stores, and the root of the signing secret. */
export function apiKeyDigest(apiKey: string): string {
  return createHash('sha256').update(apiKey, 'utf8').digest('hex');
}

/** The public id of a key's signing secret, computed from its stored digest. */
export function signingKeyIdOfDigest(keyDigest: string): string {
  return createHash('sha256').update(KEY_ID_CONTEXT + keyDigest, 'utf8').digest('hex').slice(0, 32);
}

/** The HMAC secret of a key, computed from its stored digest. */
export function signingSecretOfDigest(keyDigest: string): Buffer {
  return createHmac('sha256', Buffer.from(keyDigest, 'utf8')).update(SECRET_CONTEXT, 'utf8').digest();
}

export type SignableValue = Buffer | string;

/** The headers that sign `value` with `secret` under `keyId` (generic: project keys and service credentials). */
export function signWithSecret(value: SignableValue, keyId: string, secret: Buffer): Record<string, string> {
  const mac = createHmac('sha256', secret).update(typeof value === 'string' ? Buffer.from(value, 'utf8') : value).digest('hex');
  return { [SIGNATURE_KEY_ID_HEADER]: keyId, [SIGNATURE_HEADER]: SIGNATURE_VERSION_PREFIX + mac };
}

/**
 * The Kafka headers that sign an event value with a project API key. Pass the exact bytes (or string)
 * you will publish; merge the result into the message's headers.
 */
export function signEvent(value: SignableValue, apiKey: string): Record<string, string> {
  const digest = apiKeyDigest(apiKey);
  return signWithSecret(value, signingKeyIdOfDigest(digest), signingSecretOfDigest(digest));
}

/** A service credential's key id and secret (the api signs its own events with one). */
export function serviceSigningKey(name: string, secret: string): { keyId: string; secret: Buffer } {
  return { keyId: SERVICE_KEY_ID_PREFIX + name, secret: createHash('sha256').update(`apg-service-signing:v1:${secret}`, 'utf8').digest() };
}

/** What a message's headers claim: the key id and the MAC, or why they cannot be read. */
export type SignatureClaim =
  | { ok: true; keyId: string; mac: Buffer }
  | { ok: false; reason: 'unsigned' | 'bad_signature'; detail: string };

const MAX_KEY_ID_LENGTH = 64;

function headerText(raw: unknown, max: number): string | undefined | null {
  let v = raw;
  if (Array.isArray(v)) {
    if (v.length !== 1) return v.length === 0 ? undefined : null; // repeated header: ambiguous
    v = v[0];
  }
  if (v === undefined || v === null) return undefined;
  if (Buffer.isBuffer(v)) return v.length > max ? null : v.toString('utf8');
  if (typeof v === 'string') return v.length > max ? null : v;
  return null;
}

/** Reads the signature headers of a consumed message (kafkajs shapes: Buffer, string, arrays). Never throws. */
export function readSignatureClaim(headers: Record<string, unknown> | undefined): SignatureClaim {
  const keyId = headerText(headers?.[SIGNATURE_KEY_ID_HEADER], MAX_KEY_ID_LENGTH);
  const signature = headerText(headers?.[SIGNATURE_HEADER], SIGNATURE_VERSION_PREFIX.length + 64);
  if (keyId === undefined && signature === undefined) return { ok: false, reason: 'unsigned', detail: 'no apg-key-id / apg-signature headers' };
  // Half a signature is a publisher's mistake, not an unsigned event: refused even where unsigned events count.
  if (keyId === undefined || signature === undefined) return { ok: false, reason: 'bad_signature', detail: `missing ${keyId === undefined ? SIGNATURE_KEY_ID_HEADER : SIGNATURE_HEADER}` };
  if (keyId === null || keyId.length === 0) return { ok: false, reason: 'bad_signature', detail: 'unreadable apg-key-id header' };
  if (signature === null || !signature.startsWith(SIGNATURE_VERSION_PREFIX)) {
    return { ok: false, reason: 'bad_signature', detail: 'apg-signature is not "v1=<64 hex>"' };
  }
  const hex = signature.slice(SIGNATURE_VERSION_PREFIX.length);
  if (!/^[0-9a-f]{64}$/.test(hex)) return { ok: false, reason: 'bad_signature', detail: 'apg-signature is not "v1=<64 hex>"' };
  return { ok: true, keyId, mac: Buffer.from(hex, 'hex') };
}

/** True when `mac` is the HMAC of `value` under `secret` (constant-time comparison). */
export function macMatches(value: Buffer, secret: Buffer, mac: Buffer): boolean {
  const expected = createHmac('sha256', secret).update(value).digest();
  return expected.length === mac.length && timingSafeEqual(expected, mac);
}
