import type { BreakerConfig, HealthRecord, ReportedCall } from '@apg/core';
import type { Logger } from '@apg/platform';
import type { AggregatorHeartbeatWatch } from './aggregator-heartbeat-watch';
import { UNSEEN, type BreakerCache } from './breaker-cache';
import type { Verdict, VerdictSource } from './breaker-verdict';
import type { LocalBreakers } from './local-breakers';

/**
 * What selection asks for an instance's health: the aggregator's record (BreakerCache) merged with this
 * replica's local breaker (LocalBreakers), trusting the aggregator as its heartbeat says. Also owns the
 * local breakers' upkeep: entries that only repeat a live aggregator's CLOSED record, or idle ones, leave,
 * and entries of instances gone from the registry are dropped.
 */
export class BreakerVerdicts {
  private timer: NodeJS.Timeout | null = null;
  private readonly changedProjects = new Set<string>();
  private sweeping = false;

  constructor(
    private readonly remote: BreakerCache,
    private readonly local: LocalBreakers,
    private readonly heartbeat: AggregatorHeartbeatWatch,
    private readonly registry: { instance(projectId: string, id: string): Promise<unknown> },
    private readonly log: Logger,
    private readonly opts: { sweepMs: number },
    private readonly now: () => number = Date.now,
  ) {}

  /** The record to decide with now. */
  get(instanceId: string): HealthRecord {
    return this.verdict(instanceId).record;
  }

  verdict(instanceId: string, now = this.now()): Verdict {
    return this.local.verdict(instanceId, this.remote.peek(instanceId), this.heartbeat.isFresh(now), now, UNSEEN);
  }

  /**
   * Every instance this replica holds a verdict for (an aggregator record or a local breaker), counted by
   * the state it decides with and by whose verdict that is. For the metrics, at scrape time.
   */
  census(now = this.now()): { states: Map<string, number>; sources: Record<VerdictSource, number> } {
    const states = new Map<string, number>();
    const sources: Record<VerdictSource, number> = { remote: 0, local: 0 };
    const count = (id: string) => {
      const v = this.verdict(id, now);
      states.set(v.record.state, (states.get(v.record.state) ?? 0) + 1);
      sources[v.source]++;
    };
    for (const id of this.remote.ids()) count(id);
    for (const [id] of this.local.instances()) if (!this.remote.has(id)) count(id);
    return { states, sources };
  }

  /** Feeds a report this replica took (already accepted by Kafka) to the local breaker, once per eventId. */
  noteReport(instanceId: string, projectId: string, config: BreakerConfig, call: ReportedCall & { eventId: string }, receivedAt: number): void {
    const now = this.now();
    this.local.note({ instanceId, projectId, config, call, eventId: call.eventId, receivedAt, remote: this.remote.peek(instanceId), aggregatorFresh: this.heartbeat.isFresh(now), now });
  }

  /** Instances deleted on this replica: their local state goes at once. */
  forget(instanceIds: readonly string[]): void {
    this.local.forget(instanceIds);
  }

  /** Another replica (or this one) changed a project's instances: check its local entries on the next sweep. */
  projectChanged(projectId: string): void {
    this.changedProjects.add(projectId);
  }

  /** Drops idle entries, and entries of instances no longer registered. Exposed for tests. */
  async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    const projects = new Set(this.changedProjects);
    this.changedProjects.clear();
    try {
      const now = this.now();
      const fresh = this.heartbeat.isFresh(now);
      this.local.sweep(now, (id, seenAt) => {
        const r = fresh ? this.remote.peek(id) : null;
        return r !== null && r.state === 'CLOSED' && r.updatedAt >= seenAt;
      });
      if (projects.size === 0) return;
      const gone: string[] = [];
      for (const [id, projectId] of [...this.local.instances()]) {
        if (projects.has(projectId) && (await this.registry.instance(projectId, id)) === null) gone.push(id);
      }
      this.local.forget(gone);
    } catch (err) {
      for (const p of projects) this.changedProjects.add(p);
      this.log.warn({ err: (err as Error).message }, 'local breakers not checked against the registry; retried on the next sweep');
    } finally {
      this.sweeping = false;
    }
  }

  start(): void {
    this.timer = setInterval(() => void this.sweep(), this.opts.sweepMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
