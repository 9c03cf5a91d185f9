/**
 * How long a Kafka consumer may stay out of its group (crashed and being restarted, or rejoining) before
 * its process gives up on it and exits to be restarted (ingestor and aggregator): a rejoin takes a
 * rebalance and a restart seconds, so several sessions (and at least a minute) is a consumer that will
 * not come back — and a process that looks alive while consuming nothing.
 */
export function consumerWatchdogMs(sessionTimeoutMs: number): number {
  return Math.max(60_000, 4 * sessionTimeoutMs);
}
