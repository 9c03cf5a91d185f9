import type { ApiKeyStatus, ProjectStatus } from '@apg/contracts';
import type { Db, Queryable } from '@apg/platform';

export interface ApiKeyRecord {
  id: string;
  keyPrefix: string;
  description: string | null;
  status: ApiKeyStatus;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** What authentication needs to know about a key, joined with the project it unlocks. */
export interface KeyAuthRecord {
  keyId: string;
  status: ApiKeyStatus;
  expiresAt: Date | null;
  projectId: string | null;
  projectStatus: ProjectStatus | null;
  /** The project's routing settings, cached with the key so a select needs no extra look-up. */
  defaultStrategy: string | null;
  panicMode: boolean;
  /** The project's stored quota overrides, undecoded (`projects.quota_overrides`; null without a project). */
  quotaOverrides: unknown;
}

interface ApiKeyRow {
  id: string;
  key_prefix: string;
  description: string | null;
  status: ApiKeyStatus;
  expires_at: Date | null;
  last_used_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, key_prefix, description, status, expires_at, last_used_at, created_at, updated_at';

/**
 * The project a key `k` unlocks, as a join condition on `p`: the project created with it (its first key,
 * `projects.api_key_id`) or the project it was issued for (`api_keys.project_id`, key rotation). A key
 * issued for a project is never another project's first key, so at most one row matches.
 */
export const KEY_PROJECT_JOIN = '(p.api_key_id = k.id OR p.id = k.project_id)';

const toRecord = (r: ApiKeyRow): ApiKeyRecord => ({
  id: r.id,
  keyPrefix: r.key_prefix,
  description: r.description,
  status: r.status,
  expiresAt: r.expires_at,
  lastUsedAt: r.last_used_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** All SQL on `api_keys`. Only hashes go in; plaintext never reaches this store. */
export class ApiKeyStore {
  constructor(private readonly db: Db) {}

  async insert(k: { id: string; keyHash: string; keyPrefix: string; description: string | null; status: ApiKeyStatus; expiresAt: Date | null }): Promise<ApiKeyRecord> {
    const { rows } = await this.db.query<ApiKeyRow>(
      'apikey.insert',
      `INSERT INTO api_keys (id, key_hash, key_prefix, description, status, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
      [k.id, k.keyHash, k.keyPrefix, k.description, k.status, k.expiresAt],
    );
    return toRecord(rows[0]!);
  }

  /**
   * Issues an ACTIVE key for an existing project (rotation: the project's other keys keep working until
   * revoked). Null when the project does not exist; the insert and the check are one statement.
   */
  async insertForProject(projectId: string, k: { id: string; keyHash: string; keyPrefix: string; description: string | null; expiresAt: Date | null }): Promise<ApiKeyRecord | null> {
    const { rows } = await this.db.query<ApiKeyRow>(
      'apikey.insert_for_project',
      `INSERT INTO api_keys (id, key_hash, key_prefix, description, status, expires_at, project_id)
       SELECT $1, $2, $3, $4, 'ACTIVE', $5, p.id FROM projects p WHERE p.id = $6
       RETURNING ${COLUMNS}`,
      [k.id, k.keyHash, k.keyPrefix, k.description, k.expiresAt, projectId],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** Every key that unlocks a project (its first key and the keys issued for it), newest first. */
  async listOfProject(projectId: string): Promise<ApiKeyRecord[]> {
    const { rows } = await this.db.query<ApiKeyRow>(
      'apikey.list_of_project',
      `SELECT ${COLUMNS.split(', ').map((c) => `k.${c}`).join(', ')}
         FROM api_keys k JOIN projects p ON ${KEY_PROJECT_JOIN}
        WHERE p.id = $1
        ORDER BY k.created_at DESC, k.id`,
      [projectId],
    );
    return rows.map(toRecord);
  }

  /** Revokes every key of a project (its deletion), inside the caller's transaction. */
  async revokeAllOfProject(projectId: string, on: Queryable): Promise<void> {
    await this.db.query(
      'apikey.revoke_all_of_project',
      `UPDATE api_keys k SET status = 'REVOKED', updated_at = now()
         FROM projects p WHERE p.id = $1 AND ${KEY_PROJECT_JOIN} AND k.status <> 'REVOKED'`,
      [projectId],
      on,
    );
  }

  /** Inserts a key given by configuration (e.g. AgentX's well-known key) unless its hash exists. */
  async insertIfAbsent(k: { id: string; keyHash: string; keyPrefix: string; description: string }): Promise<boolean> {
    const res = await this.db.query(
      'apikey.insert_if_absent',
      `INSERT INTO api_keys (id, key_hash, key_prefix, description, status) VALUES ($1, $2, $3, $4, 'UNUSED')
       ON CONFLICT (key_hash) DO NOTHING`,
      [k.id, k.keyHash, k.keyPrefix, k.description],
    );
    return (res.rowCount ?? 0) > 0;
  }

  async findById(id: string): Promise<ApiKeyRecord | null> {
    const { rows } = await this.db.query<ApiKeyRow>('apikey.by_id', `SELECT ${COLUMNS} FROM api_keys WHERE id = $1`, [id]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async list(): Promise<ApiKeyRecord[]> {
    const { rows } = await this.db.query<ApiKeyRow>('apikey.list', `SELECT ${COLUMNS} FROM api_keys ORDER BY created_at DESC, id`);
    return rows.map(toRecord);
  }

  async findAuthByHash(keyHash: string, on?: Queryable): Promise<KeyAuthRecord | null> {
    const { rows } = await this.db.query<{ id: string; status: ApiKeyStatus; expires_at: Date | null; project_id: string | null; project_status: ProjectStatus | null; default_strategy: string | null; panic_mode: boolean | null; quota_overrides: unknown }>(
      'apikey.auth_by_hash',
      `SELECT k.id, k.status, k.expires_at, p.id AS project_id, p.status AS project_status, p.default_strategy, p.panic_mode, p.quota_overrides
         FROM api_keys k LEFT JOIN projects p ON ${KEY_PROJECT_JOIN}
        WHERE k.key_hash = $1`,
      [keyHash],
      on,
    );
    const r = rows[0];
    return r
      ? { keyId: r.id, status: r.status, expiresAt: r.expires_at, projectId: r.project_id, projectStatus: r.project_status, defaultStrategy: r.default_strategy, panicMode: r.panic_mode === true, quotaOverrides: r.quota_overrides }
      : null;
  }

  async update(id: string, patch: { description?: string | null; expiresAt?: Date | null; status?: ApiKeyStatus }, on?: Queryable): Promise<ApiKeyRecord | null> {
    const { rows } = await this.db.query<ApiKeyRow>(
      'apikey.update',
      `UPDATE api_keys SET
         description = CASE WHEN $2::boolean THEN $3 ELSE description END,
         expires_at  = CASE WHEN $4::boolean THEN $5::timestamptz ELSE expires_at END,
         status      = COALESCE($6, status),
         updated_at  = now()
       WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, patch.description !== undefined, patch.description ?? null, patch.expiresAt !== undefined, patch.expiresAt ?? null, patch.status ?? null],
      on,
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async delete(id: string): Promise<boolean> {
    const res = await this.db.query('apikey.delete', 'DELETE FROM api_keys WHERE id = $1', [id]);
    return (res.rowCount ?? 0) > 0;
  }

  /** Keys per effective status: a usable key past its `expires_at` counts as EXPIRED (the row is not rewritten). */
  async countByStatus(): Promise<Map<string, number>> {
    const { rows } = await this.db.query<{ status: string; n: number }>(
      'apikey.count_by_status',
      `SELECT CASE WHEN status IN ('ACTIVE', 'UNUSED') AND expires_at <= now() THEN 'EXPIRED' ELSE status END AS status,
              count(*)::int AS n
         FROM api_keys GROUP BY 1`,
    );
    return new Map(rows.map((r) => [r.status, r.n]));
  }
}
