import type { Transition } from '@apg/core';
import type { Db } from '@apg/platform';

export interface TransitionRecord extends Transition {
  instanceId: string;
  projectId: string;
  actor: string;
}

/** The breaker audit trail in Postgres (one multi-row insert per batch). */
export class TransitionStore {
  constructor(private readonly db: Db) {}

  async insertMany(items: TransitionRecord[]): Promise<void> {
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
}
