import type { ProjectStatus } from '@apg/contracts';
import type { Db, Queryable } from '@apg/platform';

export interface ProjectRecord {
  id: string;
  name: string;
  description: string | null;
  apiKeyId: string | null;
  status: ProjectStatus;
  defaultStrategy: string | null;
  panicMode: boolean;
  /** Stored quota overrides, undecoded (see ProjectQuotaOverridesSchema). */
  quotaOverrides: unknown;
  createdAt: Date;
  updatedAt: Date;
}

interface ProjectRow {
  id: string;
  name: string;
  description: string | null;
  api_key_id: string | null;
  status: ProjectStatus;
  default_strategy: string | null;
  panic_mode: boolean;
  quota_overrides: unknown;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, name, description, api_key_id, status, default_strategy, panic_mode, quota_overrides, created_at, updated_at';
const QUALIFIED = COLUMNS.split(', ').map((c) => `p.${c}`).join(', ');

/** A project with the display prefix of its key (the plaintext is never stored). */
export interface ProjectWithKey {
  project: ProjectRecord;
  keyPrefix: string | null;
}

/** Filters of {@link ProjectStore.findWithKeys}; all optional, combined with AND. */
export interface ProjectFilter {
  id?: string;
  status?: ProjectStatus;
  /** Case-insensitive substring of the name; `%` and `_` match themselves. */
  nameContains?: string;
}

const likeLiteral = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);
const toRecord = (r: ProjectRow): ProjectRecord => ({
  id: r.id,
  name: r.name,
  description: r.description,
  apiKeyId: r.api_key_id,
  status: r.status,
  defaultStrategy: r.default_strategy,
  panicMode: r.panic_mode,
  quotaOverrides: r.quota_overrides,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** All SQL on `projects`. */
export class ProjectStore {
  constructor(private readonly db: Db) {}

  async findById(id: string): Promise<ProjectRecord | null> {
    const { rows } = await this.db.query<ProjectRow>('project.by_id', `SELECT ${COLUMNS} FROM projects WHERE id = $1`, [id]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async findByKeyId(keyId: string, on?: Queryable): Promise<ProjectRecord | null> {
    const { rows } = await this.db.query<ProjectRow>('project.by_key', `SELECT ${COLUMNS} FROM projects WHERE api_key_id = $1 OR id = (SELECT project_id FROM api_keys WHERE id = $1)`, [keyId], on);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async list(): Promise<ProjectRecord[]> {
    const { rows } = await this.db.query<ProjectRow>('project.list', `SELECT ${COLUMNS} FROM projects ORDER BY created_at DESC, id`);
    return rows.map(toRecord);
  }

  /** Inserts unless the key is already linked; the unique api_key_id makes concurrent calls safe. */
  async insertForKey(p: { id: string; name: string; description: string | null; apiKeyId: string }, on?: Queryable): Promise<ProjectRecord | null> {
    const { rows } = await this.db.query<ProjectRow>(
      'project.insert',
      `INSERT INTO projects (id, name, description, api_key_id) VALUES ($1, $2, $3, $4)
       ON CONFLICT (api_key_id) DO NOTHING RETURNING ${COLUMNS}`,
      [p.id, p.name, p.description, p.apiKeyId],
      on,
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async delete(id: string, on?: Queryable): Promise<ProjectRecord | null> {
    const { rows } = await this.db.query<ProjectRow>('project.delete', `DELETE FROM projects WHERE id = $1 RETURNING ${COLUMNS}`, [id], on);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** Projects with their key prefix in one join, newest first. */
  async findWithKeys(filter: ProjectFilter = {}): Promise<ProjectWithKey[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    const add = (sql: (n: number) => string, value: unknown) => {
      values.push(value);
      where.push(sql(values.length));
    };
    if (filter.id !== undefined) add((n) => `p.id = $${n}`, filter.id);
    if (filter.status !== undefined) add((n) => `p.status = $${n}`, filter.status);
    if (filter.nameContains !== undefined) add((n) => `p.name ILIKE $${n}`, `%${likeLiteral(filter.nameContains)}%`);
    const { rows } = await this.db.query<ProjectRow & { key_prefix: string | null }>(
      'project.with_keys',
      `SELECT ${QUALIFIED}, k.key_prefix
         FROM projects p LEFT JOIN api_keys k ON k.id = p.api_key_id
        ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY p.created_at DESC, p.id`,
      values,
    );
    return rows.map((r) => ({ project: toRecord(r), keyPrefix: r.key_prefix }));
  }

  async setStatus(id: string, status: ProjectStatus): Promise<ProjectRecord | null> {
    const { rows } = await this.db.query<ProjectRow>(
      'project.set_status', `UPDATE projects SET status = $2, updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`, [id, status]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** Routing settings; `undefined` leaves a field as it is, `null` clears the default strategy. */
  async setSettings(id: string, s: { defaultStrategy?: string | null; panicMode?: boolean }): Promise<ProjectRecord | null> {
    const { rows } = await this.db.query<ProjectRow>(
      'project.set_settings',
      `UPDATE projects SET
         default_strategy = CASE WHEN $2::boolean THEN $3 ELSE default_strategy END,
         panic_mode = COALESCE($4, panic_mode),
         updated_at = now()
       WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, s.defaultStrategy !== undefined, s.defaultStrategy ?? null, s.panicMode ?? null],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /**
   * Merges quota overrides into the stored ones in one statement; a `null` value removes that override
   * (jsonb_strip_nulls), so the configured default applies again.
   */
  async mergeQuotaOverrides(id: string, patch: Record<string, number | null>): Promise<ProjectRecord | null> {
    const { rows } = await this.db.query<ProjectRow>(
      'project.merge_quota_overrides',
      `UPDATE projects SET quota_overrides = jsonb_strip_nulls(quota_overrides || $2::jsonb), updated_at = now()
       WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, JSON.stringify(patch)],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async countByStatus(): Promise<Map<string, number>> {
    const { rows } = await this.db.query<{ status: string; n: number }>(
      'project.count_by_status', 'SELECT status, count(*)::int AS n FROM projects GROUP BY status');
    return new Map(rows.map((r) => [r.status, r.n]));
  }
}
