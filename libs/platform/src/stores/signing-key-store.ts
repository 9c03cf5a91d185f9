import type { Db } from '../pg';

/** What a consumer needs to verify an event signed by a project key: no plaintext, only the digest. */
export interface SigningKeyRow {
  /** `api_keys.signing_key_id` (the `apg-key-id` header). */
  signingKeyId: string;
  /** `api_keys.key_hash`: the root of the signing secret. */
  keyDigest: string;
  status: string;
  expiresAt: number | null;
  /** The project the key unlocks (its first key `projects.api_key_id`, or issued for it: `api_keys.project_id`), null when none. */
  projectId: string | null;
  /** `projects.status` of that project (ACTIVE, INACTIVE), null when the key has none. */
  projectStatus: string | null;
}

/** Project keys by signing key id (generated column, indexed: migration 1796005000000). */
export class SigningKeyStore {
  constructor(private readonly db: Db) {}

  /** The keys among `ids` that exist; unknown ids are absent. One query, whatever the number of ids. */
  async keysOf(ids: readonly string[]): Promise<SigningKeyRow[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.db.query<{ signing_key_id: string; key_hash: string; status: string; expires_at: Date | null; project_id: string | null; project_status: string | null }>(
      'signing_keys.by_ids',
      `SELECT k.signing_key_id, k.key_hash, k.status, k.expires_at, p.id AS project_id, p.status AS project_status
         FROM api_keys k LEFT JOIN projects p ON p.api_key_id = k.id OR p.id = k.project_id
        WHERE k.signing_key_id = ANY($1::text[])`,
      [ids],
    );
    return rows.map((r) => ({
      signingKeyId: r.signing_key_id,
      keyDigest: r.key_hash,
      status: r.status,
      expiresAt: r.expires_at === null ? null : r.expires_at.getTime(),
      projectId: r.project_id,
      projectStatus: r.project_status,
    }));
  }
}
