import { isRoutable, resetWindow, type BreakerSnapshot, type HealthRecord, type InstanceBreakerState, type PublishedStats, type Routability } from '@apg/core';

/**
 * What this replica's local breaker knows of an instance (see LocalBreakers): its breaker snapshot,
 * cool-down, and the time of the last report it applied.
 */
export interface LocalView {
  breaker: BreakerSnapshot;
  cooldownUntil: number | null;
  /** `receivedAt` of the newest report this replica applied. */
  seenAt: number;
  /** The local window's figures, used when the aggregator published none. */
  stats: PublishedStats | null;
}

export type VerdictSource = 'remote' | 'local';

export interface Verdict {
  record: HealthRecord;
  source: VerdictSource;
}

const RANK: Record<Routability, number> = { yes: 0, probe: 1, no: 2 };
const isForced = (s: BreakerSnapshot): boolean => s.state === 'FORCED_OPEN' || s.state === 'FORCED_CLOSED';

/**
 * Whether the aggregator's record (`remote`) decides rather than the local breaker. The aggregator is the
 * authority, but only over what it has seen:
 *
 * - it must have decided at least as recently as the local breaker (`remote.since >= local.since`): a
 *   local OPEN the aggregator has not answered yet (its reports still in Kafka, or the aggregator
 *   restarting, rebalancing or gone) holds until the aggregator makes a transition of its own, or the
 *   local breaker runs its course (open duration, then its own probes);
 * - and either it has taken every report this replica took (`updatedAt >= seenAt`), or it is alive
 *   (heartbeat fresh) and at least as cautious as the local breaker right now: it saw failures this
 *   replica did not (another replica's reports, the SDK's direct events).
 *
 * So a stale heartbeat never lets an old record overrule newer local evidence, and a live aggregator
 * can always make an instance *less* routable at once. Admin pins (FORCED_*) always decide.
 */
export function followsRemote(remote: HealthRecord | null, local: LocalView, aggregatorFresh: boolean, now: number): boolean {
  if (remote === null) return false;
  if (isForced(remote)) return true;
  if (remote.since < local.breaker.since) return false;
  if (remote.updatedAt >= local.seenAt) return true;
  return aggregatorFresh && RANK[isRoutable(remote, now)] >= RANK[isRoutable(local.breaker, now)];
}

/**
 * The health record a select decides with, from the aggregator's record and this replica's local
 * breaker (`null` when this replica took no report of the instance: the record alone decides).
 * Cool-downs are facts with an expiry, so the later one holds whoever decides.
 */
export function verdictOf(remote: HealthRecord | null, local: LocalView | null, aggregatorFresh: boolean, now: number, unseen: HealthRecord): Verdict {
  if (local === null) return { record: remote ?? unseen, source: 'remote' };
  const cooldownUntil = laterOf(remote?.cooldownUntil ?? null, local.cooldownUntil);
  if (followsRemote(remote, local, aggregatorFresh, now)) {
    const r = remote!;
    return { record: cooldownUntil === r.cooldownUntil ? r : { ...r, cooldownUntil }, source: 'remote' };
  }
  return {
    record: {
      ...local.breaker,
      cooldownUntil,
      // The aggregator's figures cover every replica's reports; the local window only this one's.
      stats: remote?.stats ?? local.stats,
      updatedAt: remote?.updatedAt ?? local.seenAt,
    },
    source: 'local',
  };
}

/**
 * Makes the local breaker continue from a record it follows, so that if the aggregator goes quiet the
 * local breaker carries on from the authority's last word (same open episode, same backoff, same probe
 * count) rather than from its own older view. Leaving OPEN/HALF_OPEN for CLOSED forgets the window from
 * the record's transition on, as the aggregator does when it closes. **Mutates `s`.**
 */
export function adoptRecord(s: InstanceBreakerState, remote: HealthRecord): void {
  const wasClosed = s.breaker.state === 'CLOSED';
  s.breaker = snapshotOf(remote);
  s.cooldownUntil = laterOf(s.cooldownUntil, remote.cooldownUntil);
  if (!wasClosed && remote.state === 'CLOSED') resetWindow(s.window, remote.since);
}

function snapshotOf(r: HealthRecord): BreakerSnapshot {
  return {
    state: r.state,
    degraded: r.degraded,
    openedAt: r.openedAt,
    openUntil: r.openUntil,
    reopenCount: r.reopenCount,
    probeSuccesses: r.probeSuccesses,
    probeFailures: r.probeFailures,
    since: r.since,
    reason: r.reason,
  };
}

function laterOf(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}
