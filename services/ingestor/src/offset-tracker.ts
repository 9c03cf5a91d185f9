/**
 * Which offsets may be committed, per partition, when writes finish out of order. Pure bookkeeping.
 *
 * Batches of one partition are registered in the order they were consumed; a batch becomes
 * committable only when it and every earlier batch of its partition are written, because committing
 * offset N tells Kafka that everything before N is stored. An epoch (bumped on every group rebalance)
 * fences batches consumed under an earlier assignment: they are still written (harmless, the write
 * is idempotent) but never committed, since the partition may be re-read or owned by someone else now.
 */
export interface TrackedBatch {
  readonly partition: number;
  /** Offset of the last message of the batch (Kafka offsets are int64 strings). */
  readonly lastOffset: string;
  readonly epoch: number;
  /**
   * When the batch was consumed (epoch ms, our clock): its events have waited at least since then. Not the
   * Kafka timestamp, which a producer writing straight to the topic sets as it likes.
   */
  readonly consumedAt: number;
  done: boolean;
}

export class OffsetTracker {
  private readonly queues = new Map<number, TrackedBatch[]>();
  private epochValue = 0;

  get epoch(): number {
    return this.epochValue;
  }

  /** A rebalance happened: everything registered so far is fenced off from committing. */
  newEpoch(): void {
    this.epochValue++;
    this.queues.clear();
  }

  register(partition: number, lastOffset: string, consumedAt: number): TrackedBatch {
    const batch: TrackedBatch = { partition, lastOffset, epoch: this.epochValue, consumedAt, done: false };
    let q = this.queues.get(partition);
    if (!q) this.queues.set(partition, (q = []));
    q.push(batch);
    return batch;
  }

  /** Batches registered and not yet committable (written or not). */
  pending(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }

  /** When the oldest batch consumed and not yet written was consumed, `null` when none. */
  oldestPendingAt(): number | null {
    let oldest = Infinity;
    for (const q of this.queues.values()) for (const b of q) if (!b.done) oldest = Math.min(oldest, b.consumedAt);
    return oldest === Infinity ? null : oldest;
  }

  /**
   * Marks batches written and returns, per partition, the next offset to commit (last offset + 1 of the
   * longest written prefix), removing that prefix. Batches of an old epoch are ignored.
   */
  complete(batches: Iterable<TrackedBatch>): { partition: number; offset: string }[] {
    const touched = new Set<number>();
    for (const b of batches) {
      if (b.epoch !== this.epochValue) continue;
      b.done = true;
      touched.add(b.partition);
    }
    const commits: { partition: number; offset: string }[] = [];
    for (const partition of touched) {
      const q = this.queues.get(partition);
      if (!q) continue;
      let last: TrackedBatch | undefined;
      while (q.length > 0 && q[0]!.done) last = q.shift();
      if (last) commits.push({ partition, offset: (BigInt(last.lastOffset) + 1n).toString() });
    }
    return commits;
  }
}
