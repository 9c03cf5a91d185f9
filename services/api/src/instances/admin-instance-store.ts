import type { ApiType, InstanceStatus } from '@apg/contracts';
import type { Db } from '@apg/platform';
import { INSTANCE_COLUMNS, toInstance, type InstanceRecord, type InstanceRow } from './instance-store';

/** An instance with the name of its project (`/api/admin/instances/with-projects`). */
export interface InstanceWithProject {
  record: InstanceRecord;
  projectName: string;
}

const QUALIFIED = INSTANCE_COLUMNS.split(', ').map((c) => `i.${c}`).join(', ');
const NEWEST_FIRST = 'ORDER BY i.created_at DESC, i.id';

/**
 * Cross-project reads on `api_instances` for the admin API. Kept apart from {@link InstanceStore},
 * whose every method is scoped to one tenant: nothing here may ever be reachable with a tenant key.
 */
export class AdminInstanceStore {
  constructor(private readonly db: Db) {}

  async findById(id: string): Promise<InstanceRecord | null> {
    const { rows } = await this.db.query<InstanceRow>('admin_instance.by_id', `SELECT ${QUALIFIED} FROM api_instances i WHERE i.id = $1`, [id]);
    return rows[0] ? toInstance(rows[0]) : null;
  }

  async listByProject(projectId: string, apiType?: ApiType): Promise<InstanceRecord[]> {
    const { rows } = await this.db.query<InstanceRow>(
      apiType ? 'admin_instance.by_project_type' : 'admin_instance.by_project',
      `SELECT ${QUALIFIED} FROM api_instances i WHERE i.project_id = $1 ${apiType ? 'AND i.api_type = $2' : ''} ${NEWEST_FIRST}`,
      apiType ? [projectId, apiType] : [projectId],
    );
    return rows.map(toInstance);
  }

  /** Every instance of the project with this businessId: one per apiType at most (the logical key). */
  async findByBusinessId(projectId: string, businessId: string, apiType?: ApiType): Promise<InstanceRecord[]> {
    const { rows } = await this.db.query<InstanceRow>(
      'admin_instance.by_business_id',
      `SELECT ${QUALIFIED} FROM api_instances i
        WHERE i.project_id = $1 AND i.business_id = $2 ${apiType ? 'AND i.api_type = $3' : ''}
        ORDER BY i.api_type`,
      apiType ? [projectId, businessId, apiType] : [projectId, businessId],
    );
    return rows.map(toInstance);
  }

  async listByStatus(status: InstanceStatus): Promise<InstanceRecord[]> {
    const { rows } = await this.db.query<InstanceRow>(
      'admin_instance.by_status', `SELECT ${QUALIFIED} FROM api_instances i WHERE i.status = $1 ${NEWEST_FIRST}`, [status]);
    return rows.map(toInstance);
  }

  /** Instances joined with their project's name in one query (the seed ran one query per instance). */
  async listWithProjects(filter: { projectId?: string | undefined; status?: InstanceStatus | undefined } = {}): Promise<InstanceWithProject[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    if (filter.projectId !== undefined) {
      values.push(filter.projectId);
      where.push(`i.project_id = $${values.length}`);
    }
    if (filter.status !== undefined) {
      values.push(filter.status);
      where.push(`i.status = $${values.length}`);
    }
    const { rows } = await this.db.query<InstanceRow & { project_name: string }>(
      'admin_instance.with_projects',
      `SELECT ${QUALIFIED}, p.name AS project_name
         FROM api_instances i JOIN projects p ON p.id = i.project_id
        ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ${NEWEST_FIRST}`,
      values,
    );
    return rows.map((r) => ({ record: toInstance(r), projectName: r.project_name }));
  }

  async countByStatus(): Promise<Map<string, number>> {
    const { rows } = await this.db.query<{ status: string; n: number }>(
      'admin_instance.count_by_status', 'SELECT status, count(*)::int AS n FROM api_instances GROUP BY status');
    return new Map(rows.map((r) => [r.status, r.n]));
  }
}
