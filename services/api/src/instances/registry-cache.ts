import type { ApiType } from '@apg/contracts';
import type { InstanceRecord, InstanceStore } from './instance-store';

interface GroupEntry {
  instances: InstanceRecord[];
  index: GroupIndex;
  loadedAt: number;
  /** A change was announced: reloaded before it is served, served only if Postgres cannot answer. */
  invalidated?: boolean;
}

interface ByIdEntry {
  projectId: string;
  record: InstanceRecord | null;
  loadedAt: number;
  invalidated?: boolean;
}

/** A group's instances by apiIdentifier and by businessId (the seed matches either), built once per load. */
export type GroupIndex = ReadonlyMap<string, readonly InstanceRecord[]>;

/**
 * Linear in the group's size. An instance is listed under its apiIdentifier and, when different, under
 * its businessId; that is the only way one record could land twice in a list (rows are unique), so no
 * membership scan is needed — the old `list.includes` made a 10,000-instance group of one identifier
 * cost 10^8 comparisons per rebuild.
 */
export function indexGroup(instances: readonly InstanceRecord[]): GroupIndex {
  const index = new Map<string, InstanceRecord[]>();
  const add = (key: string, i: InstanceRecord) => {
    const list = index.get(key);
    if (!list) index.set(key, [i]);
    else list.push(i);
  };
  for (const i of instances) {
    add(i.apiIdentifier, i);
    if (i.businessId !== i.apiIdentifier) add(i.businessId, i);
  }
  return index;
}

export interface RegistryCacheOptions {
  ttlMs: number;
  /**
   * How long after Postgres last answered a copy may still be served while it cannot answer (README
   * "Outages"); past it, a lookup that fails fails the request.
   */
  maxStaleMs: number;
  /** A copy was served past its TTL because Postgres could not answer. */
  onStale?: () => void;
  now?: () => number;
}

/**
 * In-process copy of the registry, per (project, apiType), so a select runs no Postgres query.
 * Writes on any replica announce `{kind:'instances', projectId}` and every replica drops that
 * project's entries; the TTL bounds staleness if an announcement is lost. Past the TTL a copy is still
 * served while it is reloaded in the background, and keeps being served while Postgres cannot answer,
 * up to `maxStaleMs` after its last answer.
 */
export class RegistryCache {
  private readonly groups = new Map<string, GroupEntry>();
  private readonly inflight = new Map<string, Promise<GroupEntry>>();
  /** Per project, bumped by every invalidation: a load that started before it is never cached. */
  private readonly generations = new Map<string, number>();
  private readonly byId = new Map<string, ByIdEntry>();
  private readonly byIdInflight = new Map<string, Promise<unknown>>();

  constructor(
    private readonly store: InstanceStore,
    private readonly opts: RegistryCacheOptions,
  ) {}

  /** Cached groups (project × apiType) and instances looked up by id, for the cache-size gauge. */
  sizes(): { groups: number; instances: number } {
    return { groups: this.groups.size, instances: this.byId.size };
  }

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
    const age = hit ? this.now() - hit.loadedAt : Infinity;
    if (hit && !hit.invalidated && age < this.opts.ttlMs) return hit;
    const pending = this.load(key, projectId, apiType);
    if (hit?.invalidated && age <= this.opts.maxStaleMs) {
      // A change announced (by a replica that could write it): its rows first, the old copy only if
      // this replica's Postgres cannot answer.
      return pending.catch(() => {
        this.opts.onStale?.();
        return hit;
      });
    }
    if (hit && age <= this.opts.maxStaleMs) {
      // Stale while revalidating: an expired copy is still the best answer on the select path (and the
      // only one while Postgres is down); the reload replaces it in the background.
      pending.catch(() => this.opts.onStale?.());
      return hit;
    }
    return pending;
  }

  private load(key: string, projectId: string, apiType: ApiType): Promise<GroupEntry> {
    let pending = this.inflight.get(key);
    if (pending) return pending;
    const startedAt = this.now();
    const generation = this.generationOf(projectId);
    const p: Promise<GroupEntry> = this.store
      .listByProjectAndType(projectId, apiType)
      .then((instances) => {
        const entry = { instances, index: indexGroup(instances), loadedAt: startedAt };
        // Invalidated while the query ran: the rows may predate the change; serve them once, never cache.
        if (generation === this.generationOf(projectId)) this.groups.set(key, entry);
        return entry;
      })
      .finally(() => {
        if (this.inflight.get(key) === p) this.inflight.delete(key);
      });
    pending = p;
    this.inflight.set(key, pending);
    return pending;
  }

  private generationOf(projectId: string): number {
    return this.generations.get(projectId) ?? 0;
  }

  /** One instance of the project by id; another tenant's id resolves to null. */
  async instance(projectId: string, id: string): Promise<InstanceRecord | null> {
    const key = `${projectId}|${id}`;
    const hit = this.byId.get(key);
    // Reports look instances up by id; changes are announced, so the TTL only bounds a lost announcement.
    const age = hit ? this.now() - hit.loadedAt : Infinity;
    if (hit && !hit.invalidated && age < this.opts.ttlMs * 6) return hit.record;
    if (hit && !hit.invalidated && age <= this.opts.maxStaleMs) {
      // Past its TTL only: answer now, reload behind the report (one reload per instance at a time).
      if (!this.byIdInflight.has(key)) {
        const p = this.loadById(projectId, id, key, hit).catch(() => this.opts.onStale?.()).finally(() => this.byIdInflight.delete(key));
        this.byIdInflight.set(key, p);
      }
      return hit.record;
    }
    return this.loadById(projectId, id, key, hit);
  }

  private async loadById(projectId: string, id: string, key: string, hit: ByIdEntry | undefined): Promise<InstanceRecord | null> {
    const generation = this.generationOf(projectId);
    const startedAt = this.now();
    let record: InstanceRecord | null;
    try {
      record = await this.store.findById(projectId, id);
    } catch (err) {
      // Postgres cannot answer: the last answer stands, up to the staleness bound.
      if (!hit || this.now() - hit.loadedAt > this.opts.maxStaleMs) throw err;
      this.opts.onStale?.();
      return hit.record;
    }
    if (generation !== this.generationOf(projectId)) return record;
    if (this.byId.size > 100_000) this.byId.clear();
    this.byId.set(key, { projectId, record, loadedAt: startedAt });
    return record;
  }

  invalidateProject(projectId: string): void {
    this.generations.set(projectId, this.generationOf(projectId) + 1);
    for (const key of this.inflight.keys()) if (key.startsWith(`${projectId}|`)) this.inflight.delete(key);
    // Kept, marked: reloaded before use, and still an answer while Postgres is down.
    for (const [key, e] of this.groups) if (key.startsWith(`${projectId}|`)) e.invalidated = true;
    for (const e of this.byId.values()) if (e.projectId === projectId) e.invalidated = true;
  }

  clear(): void {
    this.groups.clear();
    this.byId.clear();
  }
}
