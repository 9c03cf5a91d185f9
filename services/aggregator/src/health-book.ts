import type { Logger } from '@apg/platform';
import { toHealthRecord, parseStoredHealth } from './health-record-codec';
import type { HealthStore } from './health-store';
import { adoptStored, writeModeOf, type InstanceHealth } from './instance-health';
import type { Fence, OffsetWrite, RecordWrite } from './guarded-write';
import { dedupeRetentionMs, MAX_APPLIED_EVENTS_PER_INSTANCE, windowTtlMs } from './redis-bounds';

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
   * Writes the records, windows and applied eventIds of `list` through the guarded script, fenced by
   * the writer's claim on their partition. Records Redis refused (an admin forced or released the
   * breaker meanwhile) are taken over in memory; their ids are returned so the caller does not audit
   * transitions that did not happen. A fenced write wrote nothing: the caller drops what it holds.
   */
  async persist(list: InstanceHealth[], now: number, opts: PersistOptions): Promise<PersistResult> {
    if (list.length === 0 && !opts.offset) return { fenced: false, refused: new Set() };
    const result = await this.store.save({
      records: list.map((h) => this.recordOf(h, now)),
      windows: list.map((h) => ({ instanceId: h.instanceId, window: h.window, ttlMs: windowTtlMs(h.config) })),
      applied: list.map((h) => ({
        instanceId: h.instanceId,
        eventIds: opts.applied?.get(h.instanceId) ?? [],
        retentionMs: dedupeRetentionMs(h.config),
        maxCount: MAX_APPLIED_EVENTS_PER_INSTANCE,
      })),
      offset: opts.offset ?? null,
      fence: opts.fence,
      now,
    });
    if (result.fenced) return { fenced: true, refused: new Set() };
    const { refused } = result;
    if (refused.size === 0) {
      for (const h of list) h.pendingPark = false;
      return { fenced: false, refused: new Set() };
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
    // second refusal (the admin acted again meanwhile) is left for the next batch; a fence raised in
    // between only means the new owner reloads it anyway.
    if (adopted.length > 0) await this.store.save({ records: adopted.map((h) => this.recordOf(h, now)), windows: [], fence: opts.fence, now });
    return { fenced: false, refused: new Set(refused.keys()) };
  }

  private recordOf(h: InstanceHealth, now: number): RecordWrite {
    return { instanceId: h.instanceId, mode: writeModeOf(h), record: toHealthRecord(h, now) };
  }

  /**
   * Rewrites everything after Redis lost data: active records and windows (each partition's under its
   * fence; a fenced partition's instances are dropped, their new owner holds them), then remembered
   * records (only where nothing is stored, so unfenced).
   */
  async restoreAll(now: number, fenceOf: (instanceId: string) => Fence | null): Promise<{ active: number; remembered: number; fenced: number }> {
    const byFence = new Map<string, { fence: Fence; list: InstanceHealth[] }>();
    for (const h of [...this.active.values()]) {
      const fence = fenceOf(h.instanceId);
      // No claim (cannot happen for an instance activated by a batch): better reloaded than written unfenced.
      if (!fence) {
        this.forget(h.instanceId);
        continue;
      }
      const key = `${fence.field}@${fence.epoch}`;
      const group = byFence.get(key) ?? { fence, list: [] };
      group.list.push(h);
      byFence.set(key, group);
    }
    let active = 0;
    let fenced = 0;
    for (const { fence, list } of byFence.values()) {
      for (let i = 0; i < list.length; i += RESTORE_CHUNK) {
        const chunk = list.slice(i, i + RESTORE_CHUNK);
        if ((await this.persist(chunk, now, { fence })).fenced) {
          fenced += chunk.length;
          for (const h of chunk) this.forget(h.instanceId);
        } else active += chunk.length;
      }
    }
    const dormant: RecordWrite[] = [];
    for (const [id, json] of this.remembered) {
      if (this.active.has(id)) continue;
      const stored = parseStoredHealth(json);
      // `absent`: the script writes these only where nothing is stored; the JSON goes back as it was.
      if (stored) dormant.push({ instanceId: id, mode: 'absent', record: JSON.parse(json) as RecordWrite['record'] });
    }
    for (let i = 0; i < dormant.length; i += RESTORE_CHUNK) await this.store.save({ records: dormant.slice(i, i + RESTORE_CHUNK), windows: [], fence: null, now });
    return { active, remembered: dormant.length, fenced };
  }
}

export interface PersistOptions {
  /** The writer's claim on the partition of every instance in the list (`null`: unfenced). */
  fence: Fence | null;
  /** The partition's next offset, written with the records. */
  offset?: OffsetWrite | null;
  /** Per instance: the eventIds this write counts in its window. */
  applied?: Map<string, string[]>;
}

export interface PersistResult {
  /** Someone took the partition since the writer's claim: nothing was written. */
  fenced: boolean;
  /** Records Redis kept (an admin's), taken over in memory. */
  refused: Set<string>;
}
