/** One partition as a poll saw it: the log's ends and the group's committed offset (`-1`: none yet). */
export interface PartitionOffsets {
  partition: number;
  /** High watermark: the offset the next produced message will get. */
  high: string;
  /** Log start: older messages were deleted by retention. */
  low: string;
  /** Next offset the group will read, as committed; `-1` (or any negative) when it never committed. */
  committed: string;
}

/** At most this many high-watermark samples per partition; older ones are thinned (see `observe`). */
export const MAX_SAMPLES = 64;

interface PartitionState {
  lag: bigint;
  /** Polls that saw the high watermark move, oldest first; only those above the committed offset are kept. */
  samples: { at: number; high: bigint }[];
}

const OFFSET = /^-?\d{1,20}$/;

/**
 * Lag of one consumer group on one topic, from polls of the committed offsets and the log ends. Pure
 * bookkeeping (the poller is `ConsumerGroupLag`).
 *
 * Lag per partition is what the group has not committed: high watermark − committed offset (the log
 * start when the group never committed, or when retention deleted past the commit). This is the lag that
 * tells the truth when the consumer stalls: it grows with every produced message even while no batch is
 * read, unlike "lag after the last batch read".
 *
 * How long the oldest uncommitted event has waited is estimated from the polls alone: the event at the
 * committed offset existed at the first poll whose high watermark was above that offset, and was still
 * uncommitted at the last poll, so it waited at least `lastPoll − firstPollAbove`. A lower bound (good to
 * one poll interval), which needs no message read and no clock but the poller's.
 */
export class GroupLagBook {
  private readonly partitions = new Map<number, PartitionState>();
  private polledAt: number | null = null;

  /** Records one poll made at `at` (epoch ms). Partitions absent from `offsets` are forgotten. */
  observe(at: number, offsets: PartitionOffsets[]): void {
    const seen = new Set<number>();
    for (const o of offsets) {
      if (!OFFSET.test(o.high) || !OFFSET.test(o.low) || !OFFSET.test(o.committed)) continue;
      seen.add(o.partition);
      const high = BigInt(o.high);
      const low = BigInt(o.low);
      const raw = BigInt(o.committed);
      const committed = raw < low ? low : raw;
      let state = this.partitions.get(o.partition);
      if (!state) this.partitions.set(o.partition, (state = { lag: 0n, samples: [] }));
      if (committed > high) {
        // Committed beyond the log end: the topic was deleted and made again. Nothing of the new log is
        // known to be waiting, and the old samples mean nothing for it.
        state.lag = 0n;
        state.samples = [];
        continue;
      }
      state.lag = high - committed;
      // Samples at or below the committed offset describe events already consumed.
      state.samples = state.samples.filter((s) => s.high > committed);
      if (state.lag > 0n) {
        const last = state.samples[state.samples.length - 1];
        if (!last || last.high < high) state.samples.push({ at, high });
        if (state.samples.length > MAX_SAMPLES) state.samples = thin(state.samples);
      }
    }
    for (const p of [...this.partitions.keys()]) if (!seen.has(p)) this.partitions.delete(p);
    this.polledAt = at;
  }

  /** Forgets everything (the topic is gone). */
  clear(at: number): void {
    this.partitions.clear();
    this.polledAt = at;
  }

  /** Uncommitted messages per partition (as numbers; lags past 2^53 lose precision, not meaning). */
  lagByPartition(): Map<number, number> {
    const out = new Map<number, number>();
    for (const [p, s] of this.partitions) out.set(p, Number(s.lag));
    return out;
  }

  totalLag(): number {
    let sum = 0n;
    for (const s of this.partitions.values()) sum += s.lag;
    return Number(sum);
  }

  /** Lower bound of how long the oldest uncommitted event had waited at the last poll (ms), 0 when none. */
  oldestWaitMs(): number {
    if (this.polledAt === null) return 0;
    let oldest = Infinity;
    for (const s of this.partitions.values()) {
      const first = s.samples[0];
      if (s.lag > 0n && first) oldest = Math.min(oldest, first.at);
    }
    return oldest === Infinity ? 0 : Math.max(0, this.polledAt - oldest);
  }

  /** When the last poll was recorded, `null` before the first. */
  lastPollAt(): number | null {
    return this.polledAt;
  }
}

/**
 * Halves the samples, keeping the first (it sets the estimate) and the last. Dropping a sample can only
 * make an estimate later start later, so the estimate stays a lower bound.
 */
function thin<T>(samples: T[]): T[] {
  return samples.filter((_, i) => i === 0 || i === samples.length - 1 || i % 2 === 0);
}
