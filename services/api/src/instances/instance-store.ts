import type { ApiType, InstanceKey, InstanceStatus } from '@apg/contracts';
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

/** What `PUT /api/instances/{apiType}/{businessId}` may change; absent fields are kept. */
export interface InstancePatch {
  apiIdentifier: string;
  userId?: string;
  routingParams?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
}

export interface InstanceRow {
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

export const INSTANCE_COLUMNS = 'id, project_id, user_id, api_identifier, api_type, business_id, routing_params, status, metadata, created_at, updated_at';
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
         routing_params = CASE WHEN $2::jsonb ? (EXCLUDED.api_type || '|' || EXCLUDED.business_id) THEN EXCLUDED.routing_params ELSE api_instances.routing_params END,
         metadata = CASE WHEN $3::jsonb ? (EXCLUDED.api_type || '|' || EXCLUDED.business_id) THEN EXCLUDED.metadata ELSE api_instances.metadata END,
         updated_at = now()
       RETURNING ${INSTANCE_COLUMNS}, (xmax = 0) AS inserted`,
      [
        JSON.stringify(items.map((i) => ({
          id: i.id, project_id: i.projectId, user_id: i.userId, api_identifier: i.apiIdentifier,
          api_type: i.apiType, business_id: i.businessId, routing_params: i.routingParams, metadata: i.metadata,
        }))),
        JSON.stringify(items.filter((i) => i.routingParams !== null).map((i) => `${i.apiType}|${i.businessId}`)),
        JSON.stringify(items.filter((i) => i.metadata !== null).map((i) => `${i.apiType}|${i.businessId}`)),
      ],
      on,
    );
    return rows.map((r) => ({ record: toInstance(r), created: r.inserted === true }));
  }

  /**
   * {@link upsertMany} unless the project would then hold more than `maxInstances`: counted and written
   * in one transaction under a per-project advisory lock, so concurrent registrations (on any replica)
   * cannot race past the quota together. Re-registering existing instances never counts.
   */
  async upsertManyWithinQuota(items: InstanceInput[], maxInstances: number): Promise<
    { ok: true; results: { record: InstanceRecord; created: boolean }[] } | { ok: false; current: number; adding: number }
  > {
    const projectId = items[0]?.projectId;
    if (projectId === undefined) return { ok: true, results: [] };
    return this.db.tx('instance.upsert_within_quota', async (client) => {
      await this.db.query('instance.quota_lock', `SELECT pg_advisory_xact_lock(hashtextextended('api_instances:' || $1, 0))`, [projectId], client);
      const { rows } = await this.db.query<{ current: number; adding: number }>(
        'instance.quota_count',
        `SELECT (SELECT count(*)::int FROM api_instances WHERE project_id = $1) AS current,
                (SELECT count(*)::int FROM jsonb_to_recordset($2::jsonb) AS x(api_type text, business_id text)
                  WHERE NOT EXISTS (SELECT 1 FROM api_instances i
                                     WHERE i.project_id = $1 AND i.api_type = x.api_type AND i.business_id = x.business_id)) AS adding`,
        [projectId, JSON.stringify(items.map((i) => ({ api_type: i.apiType, business_id: i.businessId })))],
        client,
      );
      const { current, adding } = rows[0]!;
      if (adding > 0 && current + adding > maxInstances) return { ok: false as const, current, adding };
      return { ok: true as const, results: await this.upsertMany(items, client) };
    });
  }

  async findById(projectId: string, id: string): Promise<InstanceRecord | null> {
    const { rows } = await this.db.query<InstanceRow>(
      'instance.by_id', `SELECT ${INSTANCE_COLUMNS} FROM api_instances WHERE project_id = $1 AND id = $2`, [projectId, id]);
    return rows[0] ? toInstance(rows[0]) : null;
  }

  /** All instances of one project and type, the unit the api caches for candidate selection. */
  async listByProjectAndType(projectId: string, apiType: ApiType): Promise<InstanceRecord[]> {
    const { rows } = await this.db.query<InstanceRow>(
      'instance.by_project_type',
      `SELECT ${INSTANCE_COLUMNS} FROM api_instances WHERE project_id = $1 AND api_type = $2 ORDER BY created_at, id`,
      [projectId, apiType],
    );
    return rows.map(toInstance);
  }

  async findByBusinessId(projectId: string, apiType: ApiType, businessId: string): Promise<InstanceRecord | null> {
    const { rows } = await this.db.query<InstanceRow>(
      'instance.by_business_id',
      `SELECT ${INSTANCE_COLUMNS} FROM api_instances WHERE project_id = $1 AND api_type = $2 AND business_id = $3`,
      [projectId, apiType, businessId],
    );
    return rows[0] ? toInstance(rows[0]) : null;
  }

  /** Applies a patch; the status is left alone (the seed re-activated on every update). */
  async update(projectId: string, apiType: ApiType, businessId: string, patch: InstancePatch): Promise<InstanceRecord | null> {
    const { rows } = await this.db.query<InstanceRow>(
      'instance.update',
      `UPDATE api_instances SET
         api_identifier = $4,
         user_id        = COALESCE($5, user_id),
         routing_params = COALESCE($6::jsonb, routing_params),
         metadata       = COALESCE($7::jsonb, metadata),
         updated_at     = now()
       WHERE project_id = $1 AND api_type = $2 AND business_id = $3
       RETURNING ${INSTANCE_COLUMNS}`,
      [
        projectId, apiType, businessId, patch.apiIdentifier, patch.userId ?? null,
        patch.routingParams ? JSON.stringify(patch.routingParams) : null,
        patch.metadata ? JSON.stringify(patch.metadata) : null,
      ],
    );
    return rows[0] ? toInstance(rows[0]) : null;
  }

  /** activate / deactivate / deprecate; `updated_at` moves too (the seed kept the old value). */
  async setStatus(projectId: string, apiType: ApiType, businessId: string, status: InstanceStatus): Promise<InstanceRecord | null> {
    const { rows } = await this.db.query<InstanceRow>(
      'instance.set_status',
      `UPDATE api_instances SET status = $4, updated_at = now()
       WHERE project_id = $1 AND api_type = $2 AND business_id = $3
       RETURNING ${INSTANCE_COLUMNS}`,
      [projectId, apiType, businessId, status],
    );
    return rows[0] ? toInstance(rows[0]) : null;
  }

  /** Deletes the instances of the project matching any of `keys`, in one statement; returns their ids. */
  async deleteByKeys(projectId: string, keys: InstanceKey[]): Promise<string[]> {
    if (keys.length === 0) return [];
    const { rows } = await this.db.query<{ id: string }>(
      'instance.delete_by_keys',
      `DELETE FROM api_instances i
        USING jsonb_to_recordset($2::jsonb) AS x(api_type text, business_id text)
        WHERE i.project_id = $1 AND i.api_type = x.api_type AND i.business_id = x.business_id
        RETURNING i.id`,
      [projectId, JSON.stringify(keys.map((k) => ({ api_type: k.apiType, business_id: k.businessId })))],
    );
    return rows.map((r) => r.id);
  }

  /** Deletes every instance of a project (project deletion, inside its transaction); returns their ids. */
  async deleteAllOfProject(projectId: string, on?: Queryable): Promise<string[]> {
    const { rows } = await this.db.query<{ id: string }>(
      'instance.delete_all_of_project', 'DELETE FROM api_instances WHERE project_id = $1 RETURNING id', [projectId], on);
    return rows.map((r) => r.id);
  }
}
