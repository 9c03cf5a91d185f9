import { serviceSigningKey, signingSecretOfDigest, SERVICE_KEY_ID_PREFIX } from '@apg/contracts';
import type { Db } from './pg';
import { SigningKeyStore, type SigningKeyRow } from './stores/signing-key-store';

/** A key that may sign events, as the consumers verify them. */
export interface SigningKey {
  keyId: string;
  /** The HMAC secret (derived from the stored digest, or from the service credential). */
  secret: Buffer;
  /**
   * The project whose instances it may sign for. A service credential (the api) signs for every project:
   * the api authenticated the tenant before it produced the event, and checked the instance itself.
   * `projectActive` is false for a deactivated project: the api answers its key 403, so its events
   * published straight to Kafka must not count either.
   */
  scope: { kind: 'project'; projectId: string | null; projectActive: boolean } | { kind: 'service' };
  /** `api_keys.status` (ACTIVE, UNUSED, REVOKED, EXPIRED); service credentials are ACTIVE. */
  status: string;
  /** Epoch ms, null when it never expires: checked at each verification, not when cached. */
  expiresAt: number | null;
}

/** How the consumers verify signed events (ingestor and aggregator options). */
export interface EventSigningOptions {
  /** `EVENT_SIGNING_SECRET`: the api's service credential, verified as key id `svc:api`. */
  serviceSecret: string;
  /**
   * `REQUIRE_SIGNED_EVENTS`: false counts unsigned events (migration); a signature that is present but
   * wrong is refused either way. @default true
   */
  requireSigned?: boolean;
  /** How long a project key is trusted from memory: a revocation or expiry change takes effect within it. @default 10000 */
  keyCacheTtlMs?: number;
  /** How long an unknown key id is remembered as unknown. @default 5000 */
  unknownKeyTtlMs?: number;
  /** Project keys held at most (the oldest is dropped first). @default 10000 */
  maxKeys?: number;
}

/** Service credentials the consumers know: the api signs its own events as `svc:api`. */
export const API_SERVICE_NAME = 'api';

/** Project key ids are 32 lowercase hex (a prefix of a SHA-256 hex): anything else is never looked up. */
const PROJECT_KEY_ID = /^[0-9a-f]{32}$/;

interface Cached {
  key: SigningKey;
  until: number;
}

/**
 * The keys a consumer verifies with, by key id, held in memory so that verification costs no query per
 * event: one query per batch for the ids it does not hold, known keys re-read after `keyCacheTtlMs`
 * (that is how a revocation reaches the consumers), unknown ids remembered as unknown for
 * `unknownKeyTtlMs`, so a flood of forged key ids costs at most one indexed query per batch and never
 * grows memory without bound (both maps are capped). Ids that cannot be project key ids are refused
 * without a query.
 */
export class SigningKeyBook {
  private readonly known = new Map<string, Cached>();
  private readonly unknown = new Map<string, number>();
  private readonly services = new Map<string, SigningKey>();
  private readonly ttlMs: number;
  private readonly unknownTtlMs: number;
  private readonly maxKeys: number;
  private readonly maxUnknown: number;

  constructor(
    private readonly store: Pick<SigningKeyStore, 'keysOf'>,
    serviceKeys: readonly { keyId: string; secret: Buffer }[],
    opts: { ttlMs?: number; unknownTtlMs?: number; maxKeys?: number; maxUnknown?: number } = {},
    private readonly now: () => number = Date.now,
  ) {
    for (const s of serviceKeys) this.services.set(s.keyId, { keyId: s.keyId, secret: s.secret, scope: { kind: 'service' }, status: 'ACTIVE', expiresAt: null });
    this.ttlMs = opts.ttlMs ?? 10_000;
    this.unknownTtlMs = opts.unknownTtlMs ?? 5000;
    this.maxKeys = opts.maxKeys ?? 10_000;
    this.maxUnknown = opts.maxUnknown ?? 100_000;
  }

  /** The keys among `ids` that exist; unknown ids are absent. Throws only when the store does (infrastructure). */
  async resolve(ids: Iterable<string>): Promise<Map<string, SigningKey>> {
    const t = this.now();
    const out = new Map<string, SigningKey>();
    const missing: string[] = [];
    for (const id of new Set(ids)) {
      if (id.startsWith(SERVICE_KEY_ID_PREFIX)) {
        const s = this.services.get(id);
        if (s) out.set(id, s);
        continue;
      }
      if (!PROJECT_KEY_ID.test(id)) continue;
      const hit = this.known.get(id);
      if (hit && hit.until > t) {
        out.set(id, hit.key);
        continue;
      }
      const unknownUntil = this.unknown.get(id);
      if (unknownUntil !== undefined && unknownUntil > t) continue;
      missing.push(id);
    }
    if (missing.length === 0) return out;
    const rows = await this.store.keysOf(missing);
    const found = new Set<string>();
    for (const row of rows) {
      const key = keyOfRow(row);
      found.add(row.signingKeyId);
      out.set(row.signingKeyId, key);
      this.remember(row.signingKeyId, key, t);
    }
    for (const id of missing) {
      if (found.has(id)) continue;
      this.known.delete(id);
      // Full: forget them all rather than grow; the worst case is one more query per batch.
      if (this.unknown.size >= this.maxUnknown) this.unknown.clear();
      this.unknown.set(id, t + this.unknownTtlMs);
    }
    return out;
  }

  /**
   * Drops every project key and unknown id held, so the next batch reads them again: a consumer that hears
   * the api announce a key change (the aggregator, on the registry channel) applies a revocation at once
   * instead of after the TTL.
   */
  forgetAll(): void {
    this.known.clear();
    this.unknown.clear();
  }

  /** Project keys and unknown ids held (for tests and gauges). */
  sizes(): { keys: number; unknown: number } {
    return { keys: this.known.size, unknown: this.unknown.size };
  }

  private remember(id: string, key: SigningKey, t: number): void {
    this.unknown.delete(id);
    // Re-inserted so that the Map's order stays the order of the last refresh (the oldest goes first).
    this.known.delete(id);
    if (this.known.size >= this.maxKeys) {
      const oldest = this.known.keys().next();
      if (!oldest.done) this.known.delete(oldest.value);
    }
    this.known.set(id, { key, until: t + this.ttlMs });
  }
}

function keyOfRow(row: SigningKeyRow): SigningKey {
  return {
    keyId: row.signingKeyId,
    secret: signingSecretOfDigest(row.keyDigest),
    scope: { kind: 'project', projectId: row.projectId, projectActive: row.projectStatus === 'ACTIVE' },
    status: row.status,
    expiresAt: row.expiresAt,
  };
}

/** What intake needs to verify signatures: the key book and whether unsigned events may count. */
export interface SigningPolicy {
  keys: Pick<SigningKeyBook, 'resolve'>;
  requireSigned: boolean;
}

/** The consumers' signing policy from their options: project keys from Postgres, the api's credential. */
export function signingPolicyOf(db: Db, opts: EventSigningOptions, now: () => number = Date.now): SigningPolicy & { keys: SigningKeyBook } {
  const keys = new SigningKeyBook(
    new SigningKeyStore(db),
    [serviceSigningKey(API_SERVICE_NAME, opts.serviceSecret)],
    { ttlMs: opts.keyCacheTtlMs, unknownTtlMs: opts.unknownKeyTtlMs, maxKeys: opts.maxKeys },
    now,
  );
  return { keys, requireSigned: opts.requireSigned ?? true };
}
