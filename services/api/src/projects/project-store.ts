import type { ProjectStatus } from '@apg/contracts';
import type { Db, Queryable } from '@apg/platform';

export interface ProjectRecord {
  id: string;
  name: string;
  description: string | null;
  apiKeyId: string | null;
  status: ProjectStatus;
  createdAt: Date;
  updatedAt: Date;
}

interface ProjectRow {
  id: string;
  name: string;
  description: string | null;
  api_key_id: string | null;
  status: ProjectStatus;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, name, description, api_key_id, status, created_at, updated_at';
const toRecord = (r: ProjectRow): ProjectRecord => ({
  id: r.id,
  name: r.name,
  description: r.description,
  apiKeyId: r.api_key_id,
  status: r.status,
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
    const { rows } = await this.db.query<ProjectRow>('project.by_key', `SELECT ${COLUMNS} FROM projects WHERE api_key_id = $1`, [keyId], on);
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
}
