import type { Counter } from 'prom-client';
import type { BreakerTransitionRecord, BreakerTransitionStore, Logger } from '@apg/platform';
import type { HealthBook } from './health-book';
import { applyTick, type InstanceHealth } from './instance-health';
import type { PartitionClaims } from './partition-claims';

export interface TickerDeps {
  book: HealthBook;
  claims: Pick<PartitionClaims, 'fenceOf'>;
  transitions: Pick<BreakerTransitionStore, 'insertMany'>;
  log: Logger;
  transitionCount: Counter<'to_state'>;
  now: () => number;
}

/**
 * Moves OPEN breakers whose open duration has passed to HALF_OPEN, and announces it. Each instance is
 * written under the fence of the partition its events came from, so a member that lost the partition
 * cannot move a breaker its new owner holds. One tick at a time.
 */
export class Ticker {
  private ticking = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: TickerDeps) {}

  start(everyMs: number): void {
    this.timer ??= setInterval(() => void this.tick(), everyMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    const { book, claims, log } = this.deps;
    const t = this.deps.now();
    const byFence = new Map<string, { list: InstanceHealth[]; audited: BreakerTransitionRecord[] }>();
    try {
      for (const h of [...book.active.values()]) {
        if (h.breaker.state !== 'OPEN' || h.breaker.openUntil === null || h.breaker.openUntil > t) continue;
        const fence = claims.fenceOf(h.instanceId);
        if (!fence) {
          // Its partition is no longer ours (fenced): the new owner ticks it.
          book.forget(h.instanceId);
          continue;
        }
        const key = `${fence.field}@${fence.epoch}`;
        const group = byFence.get(key) ?? { list: [], audited: [] };
        const change = applyTick(h, t);
        group.list.push(h);
        if (change.transition) group.audited.push({ ...change.transition, instanceId: h.instanceId, projectId: h.projectId, actor: 'aggregator' });
        byFence.set(key, group);
      }
      for (const { list, audited } of byFence.values()) {
        const fence = claims.fenceOf(list[0]!.instanceId);
        const saved = fence ? await book.persist(list, t, { fence }) : { fenced: true, refused: new Set<string>() };
        if (saved.fenced) {
          for (const h of list) book.forget(h.instanceId);
          continue;
        }
        const real = audited.filter((a) => !saved.refused.has(a.instanceId));
        for (const a of real) {
          this.deps.transitionCount.inc({ to_state: a.to });
          log.info({ instanceId: a.instanceId, from: a.from, to: a.to, reason: a.reason }, 'breaker transition');
        }
        await this.deps.transitions.insertMany(real);
      }
    } catch (err) {
      // The in-memory state moved on; dropping it makes the next batch reload it, and the next tick
      // make the same move again.
      log.warn({ err: (err as Error).message }, 'tick not persisted; will be retried');
      for (const { list } of byFence.values()) for (const h of list) book.forget(h.instanceId);
    } finally {
      this.ticking = false;
    }
  }
}
