/**
 * Consumer lag per assigned partition: the high watermark the broker reported with the last batch
 * minus the next offset this consumer will process. Summed for the `apg_aggregator_consumer_lag`
 * gauge (no partition label: it stays low-cardinality and one number is what alerts need).
 */
export class ConsumerLag {
  private readonly partitions = new Map<string, { high: bigint; next: bigint }>();

  /** Records a processed batch: `nextOffset` = last processed offset + 1. */
  observe(topic: string, partition: number, highWatermark: string, nextOffset: string): void {
    if (!/^\d+$/.test(highWatermark) || !/^\d+$/.test(nextOffset)) return;
    this.partitions.set(`${topic}:${partition}`, { high: BigInt(highWatermark), next: BigInt(nextOffset) });
  }

  /** Keeps only the partitions now assigned (`topic` → partitions); lag of others is not ours. */
  retain(assignment: Record<string, number[]>): void {
    const keep = new Set(Object.entries(assignment).flatMap(([topic, ps]) => ps.map((p) => `${topic}:${p}`)));
    for (const key of this.partitions.keys()) if (!keep.has(key)) this.partitions.delete(key);
  }

  clear(): void {
    this.partitions.clear();
  }

  total(): number {
    let sum = 0n;
    for (const { high, next } of this.partitions.values()) if (high > next) sum += high - next;
    return Number(sum);
  }
}
