import type { Logger } from '@apg/platform';
import { toHealthRecord, parseStoredHealth } from './health-record-codec';
import type { HealthStore } from './health-store';
import { adoptStored, writeModeOf, type InstanceHealth } from './instance-health';
import type { RecordWrite } from './guarded-write';

/** Records per script call when rewriting everything: keeps each call short for other clients. */
const RESTORE_CHUNK = 500;

/**
 * The aggregator's in-memory book of instance health and how it reaches Redis.
 *
 * - `active`: instances whose events this process consumed since it was assigned their partition;
 *   their state was loaded from Redis on first sight, and every change is written back.
 * - `remembered`: the last record seen of other instances (read at start, or dropped from `active`
 *   on a rebalance or an admin action). Only ever restored where Redis holds nothing, so a stale
 *   copy can never overwrite what the instance's owner wrote.
 */
export class HealthBook {
  readonly active = new Map<string, InstanceHealth>();
  private readonly remembered = new Map<string, string>();

  constructor(
    private readonly store: HealthStore,
    private readonly log: Logger,
    private readonly opts: { maxRemembered?: number } = {},
  ) {}

  get size(): number {
    return this.active.size;
  }

  get knowsAnything(): boolean {
    return this.active.size > 0 || this.remembered.size > 0;
  }

  activate(h: InstanceHealth): void {
    this.active.set(h.instanceId, h);
    this.remembered.delete(h.instanceId);
  }

  /** Drops every active state (a rebalance), remembering its last record for restores. */
  deactivateAll(now: number): void {
    for (const h of this.active.values()) this.remember(h.instanceId, JSON.stringify(toHealthRecord(h, now)));
    this.active.clear();
  }

  /** Drops one instance altogether (an admin acted on it); `rememberStored` re-reads what the api wrote. */
  forget(instanceId: string): void {
    this.active.delete(instanceId);
    this.remembered.delete(instanceId);
  }

  /** Remembers the record stored now (what an admin just wrote). Best effort. */
  async rememberStored(instanceId: string): Promise<void> {
    try {
      const json = await this.store.loadRaw(instanceId);
      if (json) this.remember(instanceId, json);
    } catch (err) {
      this.log.debug({ err: (err as Error).message, instanceId }, 'stored health record not re-read');
    }
  }

  remember(instanceId: string, json: string): void {
    if (this.active.has(instanceId)) return;
    if (this.remembered.size >= (this.opts.maxRemembered ?? 200_000)) return;
    this.remembered.set(instanceId, json);
  }

  /** Remembers every record Redis holds now (at start). Best effort: a restore is a fallback. */
  async rememberAll(): Promise<void> {
    try {
      for (const [id, json] of Object.entries(await this.store.loadAll())) this.remember(id, json);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'stored health records not read; restores cover active instances only');
    }
  }

  /**
   * Writes the records (and windows) of `list` through the guarded script. Records Redis refused
   * (an admin forced or released the breaker meanwhile) are taken over in memory; their ids are
   * returned so the caller does not audit transitions that did not happen.
   */
  async persist(list: InstanceHealth[], now: number, offset: { field: string; next: string } | null): Promise<Set<string>> {
    if (list.length === 0 && !offset) return new Set();
    const refused = await this.store.save({
      records: list.map((h) => this.recordOf(h, now)),
      windows: list.map((h) => ({ instanceId: h.instanceId, window: h.window, ttlMs: h.config.windowMs + 60_000 })),
      offset,
    });
    if (refused.size === 0) {
      for (const h of list) h.pendingPark = false;
      return new Set();
    }
    const adopted: InstanceHealth[] = [];
    for (const h of list) {
      const json = refused.get(h.instanceId);
      const stored = json === undefined ? null : parseStoredHealth(json);
      if (json === undefined) h.pendingPark = false;
      else if (stored) {
        this.log.info({ instanceId: h.instanceId, ours: h.breaker.state, stored: stored.breaker.state }, 'stored forced record kept; taken over');
        adoptStored(h, stored, now);
        adopted.push(h);
      }
    }
    // Once more on the adopted breaker, so the stored record gets this batch's stats at once. A
    // second refusal (the admin acted again meanwhile) is left for the next batch.
    if (adopted.length > 0) await this.store.save({ records: adopted.map((h) => this.recordOf(h, now)), windows: [] });
    return new Set(refused.keys());
  }

  private recordOf(h: InstanceHealth, now: number): RecordWrite {
    return { instanceId: h.instanceId, mode: writeModeOf(h), record: toHealthRecord(h, now) };
  }

  /** Rewrites everything after Redis lost data: active records and windows, then remembered records. */
  async restoreAll(now: number): Promise<{ active: number; remembered: number }> {
    const active = [...this.active.values()];
    for (let i = 0; i < active.length; i += RESTORE_CHUNK) await this.persist(active.slice(i, i + RESTORE_CHUNK), now, null);
    const dormant: RecordWrite[] = [];
    for (const [id, json] of this.remembered) {
      if (this.active.has(id)) continue;
      const stored = parseStoredHealth(json);
      // `absent`: the script writes these only where nothing is stored; the JSON goes back as it was.
      if (stored) dormant.push({ instanceId: id, mode: 'absent', record: JSON.parse(json) as RecordWrite['record'] });
    }
    for (let i = 0; i < dormant.length; i += RESTORE_CHUNK) await this.store.save({ records: dormant.slice(i, i + RESTORE_CHUNK), windows: [] });
    return { active: active.length, remembered: dormant.length };
  }
}
