import {
  applyReportedCallNow,
  createWindow,
  initialBreaker,
  publishedStatsOf,
  windowConfigOf,
  windowStats,
  type BreakerConfig,
  type HealthRecord,
  type InstanceBreakerState,
  type PublishedStats,
  type ReportedCall,
} from '@apg/core';
import { adoptRecord, followsRemote, verdictOf, type LocalView, type Verdict } from './breaker-verdict';

interface Entry extends InstanceBreakerState {
  projectId: string;
  config: BreakerConfig;
  /** `receivedAt` of the newest report applied. */
  seenAt: number;
  /** `updatedAt` of the last aggregator record adopted (see `adoptRecord`). */
  adoptedAt: number;
  /** The last few eventIds applied: a client retrying a report (same selectionId, same eventId) counts once. */
  recent: string[];
}

/** How many recent eventIds an entry remembers; a retry follows its original closely. */
const RECENT_EVENTS = 4;

export interface LocalBreakersOptions {
  /**
   * Most instances with local state; beyond it the least recently reported one is dropped (it then
   * follows the aggregator's record alone). Entries exist only for registered instances this replica
   * took reports on, and leave when idle or deleted, so this is a guard, not a working limit.
   * @default 100000
   */
  maxEntries?: number;
}

/**
 * This replica's own breakers: the core's instance-breaker step (same window, same error classes, same
 * state machine, same per-instance config) run over the reports this replica takes, so it can decide
 * at once — before the aggregator's verdict arrives, or while the aggregator is restarting, rebalancing
 * or gone. `verdict` merges it with the aggregator's record (see `verdictOf`). Pure: no I/O, time passed in.
 */
export class LocalBreakers {
  // Insertion order = report order (entries are re-inserted on each report): the first is the least recent.
  private readonly entries = new Map<string, Entry>();
  private readonly maxEntries: number;

  constructor(opts: LocalBreakersOptions = {}) {
    this.maxEntries = opts.maxEntries ?? 100_000;
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Applies one report this replica took. A new entry starts from the aggregator's record when there is
   * one (an instance opened before this replica's first report stays open); an existing one first takes
   * over a record it should follow, then ticks (a probe result must find HALF_OPEN), then applies.
   */
  note(args: { instanceId: string; projectId: string; config: BreakerConfig; call: ReportedCall; eventId?: string; receivedAt: number; remote: HealthRecord | null; aggregatorFresh: boolean; now: number }): void {
    const { instanceId, config, now, remote } = args;
    let e = this.entries.get(instanceId);
    if (e && args.eventId !== undefined && e.recent.includes(args.eventId)) return;
    if (e) {
      this.reconcile(e, remote, args.aggregatorFresh, now);
      this.entries.delete(instanceId);
    } else {
      e = {
        projectId: args.projectId,
        config,
        window: createWindow(windowConfigOf(config)),
        breaker: initialBreaker(now),
        cooldownUntil: null,
        seenAt: 0,
        adoptedAt: 0,
        recent: [],
      };
      if (remote) {
        adoptRecord(e, remote);
        e.adoptedAt = remote.updatedAt;
      }
    }
    e.config = config;
    applyReportedCallNow(e, args.call, now, config);
    e.seenAt = Math.max(e.seenAt, args.receivedAt);
    if (args.eventId !== undefined) {
      e.recent.push(args.eventId);
      if (e.recent.length > RECENT_EVENTS) e.recent.shift();
    }
    this.entries.set(instanceId, e);
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  /** The verdict to decide with (see `verdictOf`); takes over the aggregator's record when it is followed. */
  verdict(instanceId: string, remote: HealthRecord | null, aggregatorFresh: boolean, now: number, unseen: HealthRecord): Verdict {
    const e = this.entries.get(instanceId);
    if (!e) return verdictOf(remote, null, aggregatorFresh, now, unseen);
    this.reconcile(e, remote, aggregatorFresh, now);
    return verdictOf(remote, viewOf(e, remote === null, now), aggregatorFresh, now, unseen);
  }

  has(instanceId: string): boolean {
    return this.entries.has(instanceId);
  }

  forget(instanceIds: Iterable<string>): void {
    for (const id of instanceIds) this.entries.delete(id);
  }

  /** `[instanceId, projectId]` of every entry (to check them against the registry after a change). */
  *instances(): IterableIterator<[string, string]> {
    for (const [id, e] of this.entries) yield [id, e.projectId];
  }

  /**
   * Drops entries that carry nothing the aggregator's record does not: CLOSED (not forced, not
   * degraded), no cool-down left, and either no report for a whole window (the window is empty), or no
   * failure in the window while a live aggregator's record has taken every report this replica took
   * (`agrees`). Keeps memory to the instances that are failing or ahead of the aggregator: a healthy
   * instance's next report starts a new entry from the aggregator's record. The price: that new window
   * lacks the earlier successes, so a rate-based opening can come sooner here than in the aggregator
   * (never later). Returns how many were dropped.
   */
  sweep(now: number, agrees: (instanceId: string, seenAt: number) => boolean): number {
    let dropped = 0;
    for (const [id, e] of this.entries) {
      const settled = e.breaker.state === 'CLOSED' && !e.breaker.degraded && (e.cooldownUntil === null || e.cooldownUntil <= now);
      if (!settled) continue;
      const idle = now - e.seenAt > e.config.windowMs;
      if (idle || (e.window.consecutiveFailures === 0 && !hasFailures(e, now) && agrees(id, e.seenAt))) {
        this.entries.delete(id);
        dropped++;
      }
    }
    return dropped;
  }

  private reconcile(e: Entry, remote: HealthRecord | null, aggregatorFresh: boolean, now: number): void {
    if (remote === null || remote.updatedAt <= e.adoptedAt) return;
    if (!followsRemote(remote, viewOf(e, false, now), aggregatorFresh, now)) return;
    adoptRecord(e, remote);
    e.adoptedAt = remote.updatedAt;
  }
}

function hasFailures(e: Entry, now: number): boolean {
  return windowStats(e.window, now, windowConfigOf(e.config)).failures > 0;
}

function viewOf(e: Entry, withStats: boolean, now: number): LocalView {
  return { breaker: e.breaker, cooldownUntil: e.cooldownUntil, seenAt: e.seenAt, stats: withStats ? statsOf(e, now) : null };
}

function statsOf(e: Entry, now: number): PublishedStats {
  return publishedStatsOf(windowStats(e.window, now, windowConfigOf(e.config)));
}
