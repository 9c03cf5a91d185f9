import { z } from 'zod';

/**
 * What an aggregator process writes to Redis (`RedisKeys.aggregatorHeartbeat()`) about once a second while it
 * holds partitions and its writes succeed. The api reads it to tell whether breaker verdicts are fresh: a stale
 * or missing heartbeat means nobody is turning reports into breaker states, so the api decides with its own
 * local breakers and `/api/health` reports DEGRADED. One schema, used by the writer and every reader.
 */
export const AggregatorHeartbeatSchema = z.object({
  /** Epoch ms of the write. */
  at: z.number().int().nonnegative(),
  /** Which process wrote it (host:pid or the consumer's member id), for operators. */
  member: z.string().max(256),
  /** Partitions the writer held at `at`. */
  partitions: z.number().int().nonnegative(),
});
export type AggregatorHeartbeat = z.infer<typeof AggregatorHeartbeatSchema>;

/** A heartbeat older than this is stale: the aggregator writes every second, so three missed writes. */
export const AGGREGATOR_HEARTBEAT_STALE_MS = 3_000;

export function encodeAggregatorHeartbeat(beat: AggregatorHeartbeat): string {
  return JSON.stringify(beat);
}

/** `null` for a missing or undecodable value (treated as no heartbeat at all). */
export function decodeAggregatorHeartbeat(raw: string | null): AggregatorHeartbeat | null {
  if (raw === null) return null;
  try {
    const parsed = AggregatorHeartbeatSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
