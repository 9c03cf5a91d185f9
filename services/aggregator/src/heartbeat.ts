import type { AggregatorHeartbeat } from '@apg/contracts';
import type { Logger } from '@apg/platform';
import type { HealthStore } from './health-store';

/** What the aggregator reports as ready (and therefore heart-beats for). */
export interface ReadinessInput {
  /** Partitions held in the current generation. */
  partitions: number;
  /** Age of the oldest batch in progress (retrying or hung), 0 when none. */
  oldestBatchMs: number;
  /** A batch held longer than this makes the aggregator unready. */
  maxHeldMs: number;
  /** How long the oldest unapplied event has waited (held here, or behind the group's commit), 0 when none. */
  oldestEventMs: number;
  /** Events waiting longer than this make the aggregator unready: the breakers are that far behind. */
  maxEventAgeMs: number;
}

/**
 * `/readyz` of the aggregator: it holds partitions (not before its first assignment, not after its
 * consumer crashed or while it is a spare member of a group with fewer partitions than members), no
 * batch has been held longer than `maxHeldMs` (an outage or a hung dependency: it consumes nothing), and
 * no event has waited longer than `maxEventAgeMs` (the group is stuck behind, whichever member holds it).
 */
export function readinessOf(s: ReadinessInput): { assigned: boolean; batches: boolean; events: boolean } {
  return { assigned: s.partitions > 0, batches: s.oldestBatchMs <= s.maxHeldMs, events: s.oldestEventMs <= s.maxEventAgeMs };
}

/**
 * A batch in progress longer than this stops the heartbeat even before `/readyz` turns: a healthy batch
 * takes milliseconds, and the api should fall back to its local breakers while ours are not being written.
 */
export const HEARTBEAT_MAX_BATCH_MS = 2000;

/** The heartbeat to write now, or `null` when this member should not vouch for the breakers. */
export function heartbeatOf(s: ReadinessInput & { now: number; member: string }): AggregatorHeartbeat | null {
  const r = readinessOf({ ...s, maxHeldMs: Math.min(s.maxHeldMs, HEARTBEAT_MAX_BATCH_MS) });
  if (!r.assigned || !r.batches || !r.events) return null;
  return { at: Math.max(0, Math.round(s.now)), member: s.member.slice(0, 256), partitions: s.partitions };
}

/**
 * Writes the group's heartbeat about once a second while this member holds partitions and its batches
 * go through; stops writing as soon as they do not, so the api sees the heartbeat go stale within
 * `AGGREGATOR_HEARTBEAT_STALE_MS` and decides with its local breakers.
 */
export class HeartbeatWriter {
  private timer: NodeJS.Timeout | null = null;
  private writing = false;

  constructor(
    private readonly store: Pick<HealthStore, 'writeHeartbeat'>,
    private readonly state: () => ReadinessInput & { now: number; member: string },
    private readonly log: Logger,
  ) {}

  start(everyMs: number): void {
    this.timer ??= setInterval(() => void this.beat(), everyMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One beat; returns whether it was written. */
  async beat(): Promise<boolean> {
    if (this.writing) return false;
    const beat = heartbeatOf(this.state());
    if (!beat) return false;
    this.writing = true;
    try {
      await this.store.writeHeartbeat(beat);
      return true;
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'heartbeat not written');
      return false;
    } finally {
      this.writing = false;
    }
  }
}
