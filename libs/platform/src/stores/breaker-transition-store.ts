import type { Db } from '../pg';

export interface BreakerTransitionRecord {
  instanceId: string;
  projectId: string;
  from: string;
  to: string;
  reason: string;
  /** `aggregator`, or `admin` for forced states. */
  actor: string;
  at: number;
}

/** The breaker audit trail (`breaker_transitions`), written by the aggregator and the admin API. */
export class BreakerTransitionStore {
  constructor(private readonly db: Db) {}

  async insertMany(items: readonly BreakerTransitionRecord[]): Promise<void> {
    if (items.length === 0) return;
    await this.db.query(
      'breaker_transitions.insert_many',
      `INSERT INTO breaker_transitions (instance_id, project_id, from_state, to_state, reason, actor, at)
       SELECT instance_id, project_id, from_state, to_state, reason, actor, to_timestamp(at / 1000.0)
         FROM jsonb_to_recordset($1::jsonb) AS x(instance_id text, project_id text, from_state text, to_state text, reason text, actor text, at bigint)`,
      [JSON.stringify(items.map((t) => ({
        instance_id: t.instanceId, project_id: t.projectId, from_state: t.from, to_state: t.to, reason: t.reason, actor: t.actor, at: t.at,
      })))],
    );
  }

  /** Newest first. */
  async listByInstance(instanceId: string, limit: number): Promise<BreakerTransitionRecord[]> {
    const { rows } = await this.db.query<{ instance_id: string; project_id: string; from_state: string; to_state: string; reason: string; actor: string; at: Date }>(
      'breaker_transitions.by_instance',
      `SELECT instance_id, project_id, from_state, to_state, reason, actor, at FROM breaker_transitions
        WHERE instance_id = $1 ORDER BY at DESC, id DESC LIMIT $2`,
      [instanceId, limit],
    );
    return rows.map((r) => ({ instanceId: r.instance_id, projectId: r.project_id, from: r.from_state, to: r.to_state, reason: r.reason, actor: r.actor, at: r.at.getTime() }));
  }
}
