import type { ApiType } from '@apg/contracts';
import type { InstanceRecord, InstanceStore } from './instance-store';

interface GroupEntry {
  instances: InstanceRecord[];
  loadedAt: number;
}

/**
 * In-process copy of the registry, per (project, apiType), so a select runs no Postgres query.
 * Writes on any replica announce `{kind:'instances', projectId}` and every replica drops that
 * project's entries; the TTL bounds staleness if an announcement is lost.
 */
export class RegistryCache {
  private readonly groups = new Map<string, GroupEntry>();
  private readonly inflight = new Map<string, Promise<InstanceRecord[]>>();
  private readonly byId = new Map<string, { projectId: string; record: InstanceRecord | null; loadedAt: number }>();

  constructor(
    private readonly store: InstanceStore,
    private readonly opts: { ttlMs: number; now?: () => number },
  ) {}

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  async group(projectId: string, apiType: ApiType): Promise<InstanceRecord[]> {
    const key = `${projectId}|${apiType}`;
    const hit = this.groups.get(key);
    if (hit && this.now() - hit.loadedAt < this.opts.ttlMs) return hit.instances;
    let pending = this.inflight.get(key);
    if (!pending) {
      const startedAt = this.now();
      pending = this.store
        .listByProjectAndType(projectId, apiType)
        .then((instances) => {
          this.groups.set(key, { instances, loadedAt: startedAt });
          return instances;
        })
        .finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  /** One instance of the project by id; another tenant's id resolves to null. */
  async instance(projectId: string, id: string): Promise<InstanceRecord | null> {
    const hit = this.byId.get(id);
    if (hit && hit.projectId === projectId && this.now() - hit.loadedAt < this.opts.ttlMs) return hit.record;
    const record = await this.store.findById(projectId, id);
    if (this.byId.size > 100_000) this.byId.clear();
    this.byId.set(id, { projectId, record, loadedAt: this.now() });
    return record;
  }

  invalidateProject(projectId: string): void {
    for (const key of this.groups.keys()) if (key.startsWith(`${projectId}|`)) this.groups.delete(key);
    for (const [id, e] of this.byId) if (e.projectId === projectId) this.byId.delete(id);
  }

  clear(): void {
    this.groups.clear();
    this.byId.clear();
  }
}
