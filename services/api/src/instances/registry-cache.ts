import type { ApiType } from '@apg/contracts';
import type { InstanceRecord, InstanceStore } from './instance-store';

interface GroupEntry {
  instances: InstanceRecord[];
  index: GroupIndex;
  loadedAt: number;
}

/** A group's instances by apiIdentifier and by businessId (the seed matches either), built once per load. */
export type GroupIndex = ReadonlyMap<string, readonly InstanceRecord[]>;

function indexOf(instances: InstanceRecord[]): GroupIndex {
  const index = new Map<string, InstanceRecord[]>();
  const add = (key: string, i: InstanceRecord) => {
    const list = index.get(key);
    if (!list) index.set(key, [i]);
    else if (!list.includes(i)) list.push(i);
  };
  for (const i of instances) {
    add(i.apiIdentifier, i);
    add(i.businessId, i);
  }
  return index;
}

/**
 * In-process copy of the registry, per (project, apiType), so a select runs no Postgres query.
 * Writes on any replica announce `{kind:'instances', projectId}` and every replica drops that
 * project's entries; the TTL bounds staleness if an announcement is lost.
 */
export class RegistryCache {
  private readonly groups = new Map<string, GroupEntry>();
  private readonly inflight = new Map<string, Promise<GroupEntry>>();
  private readonly byId = new Map<string, { projectId: string; record: InstanceRecord | null; loadedAt: number }>();

  constructor(
    private readonly store: InstanceStore,
    private readonly opts: { ttlMs: number; now?: () => number },
  ) {}

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  async group(projectId: string, apiType: ApiType): Promise<InstanceRecord[]> {
    return (await this.entry(projectId, apiType)).instances;
  }

  /** The group indexed by apiIdentifier and businessId: a select looks its candidates up, no scan. */
  async index(projectId: string, apiType: ApiType): Promise<GroupIndex> {
    return (await this.entry(projectId, apiType)).index;
  }

  private async entry(projectId: string, apiType: ApiType): Promise<GroupEntry> {
    const key = `${projectId}|${apiType}`;
    const hit = this.groups.get(key);
    if (hit && this.now() - hit.loadedAt < this.opts.ttlMs) return hit;
    let pending = this.inflight.get(key);
    if (!pending) {
      const startedAt = this.now();
      pending = this.store
        .listByProjectAndType(projectId, apiType)
        .then((instances) => {
          const entry = { instances, index: indexOf(instances), loadedAt: startedAt };
          this.groups.set(key, entry);
          return entry;
        })
        .finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  /** One instance of the project by id; another tenant's id resolves to null. */
  async instance(projectId: string, id: string): Promise<InstanceRecord | null> {
    const hit = this.byId.get(id);
    // Reports look instances up by id; changes are announced, so the TTL only bounds a lost announcement.
    if (hit && hit.projectId === projectId && this.now() - hit.loadedAt < this.opts.ttlMs * 6) return hit.record;
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
