import type { ApiType, InstanceStatus } from '@apg/contracts';
import type { Db, Queryable } from '@apg/platform';

export interface InstanceRecord {
  id: string;
  projectId: string;
  userId: string | null;
  apiIdentifier: string;
  apiType: ApiType;
  businessId: string;
  routingParams: Record<string, unknown>;
  status: InstanceStatus;
  metadata: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
}

export interface InstanceInput {
  id: string;
  projectId: string;
  userId: string | null;
  apiIdentifier: string;
  apiType: ApiType;
  businessId: string;
  routingParams: Record<string, unknown> | null;
  metadata: Record<string, unknown> | null;
}

interface InstanceRow {
  id: string;
  project_id: string;
  user_id: string | null;
  api_identifier: string;
  api_type: ApiType;
  business_id: string;
  routing_params: Record<string, unknown>;
  status: InstanceStatus;
  metadata: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
  inserted?: boolean;
}

const COLUMNS = 'id, project_id, user_id, api_identifier, api_type, business_id, routing_params, status, metadata, created_at, updated_at';
export const toInstance = (r: InstanceRow): InstanceRecord => ({
  id: r.id,
  projectId: r.project_id,
  userId: r.user_id,
  apiIdentifier: r.api_identifier,
  apiType: r.api_type,
  businessId: r.business_id,
  routingParams: r.routing_params ?? {},
  status: r.status,
  metadata: r.metadata ?? {},
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** All SQL on `api_instances`. Every method is scoped by project: ids of other tenants do not exist here. */
export class InstanceStore {
  constructor(private readonly db: Db) {}

  /**
   * Upserts on (project, apiType, businessId) in one statement for the whole list. Re-registering
   * updates the identifier, user and — when sent — routing params and metadata (the seed dropped them),
   * but never the status: a deactivated instance stays deactivated across a client restart.
   * `(xmax = 0)` tells rows that were inserted from rows that were updated.
   */
  async upsertMany(items: InstanceInput[], on?: Queryable): Promise<{ record: InstanceRecord; created: boolean }[]> {
    if (items.length === 0) return [];
    const { rows } = await this.db.query<InstanceRow>(
      'instance.upsert_many',
      `INSERT INTO api_instances (id, project_id, user_id, api_identifier, api_type, business_id, routing_params, metadata)
       SELECT id, project_id, user_id, api_identifier, api_type, business_id,
              COALESCE(routing_params, '{}'::jsonb), COALESCE(metadata, '{}'::jsonb)
         FROM jsonb_to_recordset($1::jsonb) AS x(id text, project_id text, user_id text, api_identifier text,
              api_type text, business_id text, routing_params jsonb, metadata jsonb)
       ON CONFLICT ON CONSTRAINT api_instances_logical_key DO UPDATE SET
         api_identifier = EXCLUDED.api_identifier,
         user_id = EXCLUDED.user_id,
         routing_params = CASE WHEN $2::jsonb ? EXCLUDED.business_id THEN EXCLUDED.routing_params ELSE api_instances.routing_params END,
         metadata = CASE WHEN $3::jsonb ? EXCLUDED.business_id THEN EXCLUDED.metadata ELSE api_instances.metadata END,
         updated_at = now()
       RETURNING ${COLUMNS}, (xmax = 0) AS inserted`,
      [
        JSON.stringify(items.map((i) => ({
          id: i.id, project_id: i.projectId, user_id: i.userId, api_identifier: i.apiIdentifier,
          api_type: i.apiType, business_id: i.businessId, routing_params: i.routingParams, metadata: i.metadata,
        }))),
        JSON.stringify(items.filter((i) => i.routingParams !== null).map((i) => i.businessId)),
        JSON.stringify(items.filter((i) => i.metadata !== null).map((i) => i.businessId)),
      ],
      on,
    );
    return rows.map((r) => ({ record: toInstance(r), created: r.inserted === true }));
  }

  async findById(projectId: string, id: string): Promise<InstanceRecord | null> {
    const { rows } = await this.db.query<InstanceRow>(
      'instance.by_id', `SELECT ${COLUMNS} FROM api_instances WHERE project_id = $1 AND id = $2`, [projectId, id]);
    return rows[0] ? toInstance(rows[0]) : null;
  }

  /** All instances of one project and type, the unit the api caches for candidate selection. */
  async listByProjectAndType(projectId: string, apiType: ApiType): Promise<InstanceRecord[]> {
    const { rows } = await this.db.query<InstanceRow>(
      'instance.by_project_type',
      `SELECT ${COLUMNS} FROM api_instances WHERE project_id = $1 AND api_type = $2 ORDER BY created_at, id`,
      [projectId, apiType],
    );
    return rows.map(toInstance);
  }

  async findByBusinessId(projectId: string, apiType: ApiType, businessId: string): Promise<InstanceRecord | null> {
    const { rows } = await this.db.query<InstanceRow>(
      'instance.by_business_id',
      `SELECT ${COLUMNS} FROM api_instances WHERE project_id = $1 AND api_type = $2 AND business_id = $3`,
      [projectId, apiType, businessId],
    );
    return rows[0] ? toInstance(rows[0]) : null;
  }
}
