import type { Db } from './pg';

/**
 * Which project owns which instance, for consumers that must not trust events published straight to
 * Kafka. Owners never change for an id (ids are never reused), so positive answers are cached
 * without expiry (bounded in size); misses are re-read every time, so a just-registered instance
 * counts at once. Deleted instances keep their cached owner; their events are harmless rows.
 */
export class InstanceDirectory {
  private readonly owners = new Map<string, string>();

  constructor(private readonly db: Db, private readonly maxEntries = 200_000) {}

  /** Owner project of each id that exists; unknown ids are absent from the result. */
  async ownersOf(ids: Iterable<string>): Promise<Map<string, string>> {
    const result = new Map<string, string>();
    const missing: string[] = [];
    for (const id of new Set(ids)) {
      const owner = this.owners.get(id);
      if (owner) result.set(id, owner);
      else missing.push(id);
    }
    if (missing.length) {
      const { rows } = await this.db.query<{ id: string; project_id: string }>(
        'instance_directory.owners',
        'SELECT id, project_id FROM api_instances WHERE id = ANY($1::text[])',
        [missing],
      );
      if (this.owners.size + rows.length > this.maxEntries) this.owners.clear();
      for (const r of rows) {
        this.owners.set(r.id, r.project_id);
        result.set(r.id, r.project_id);
      }
    }
    return result;
  }
}
