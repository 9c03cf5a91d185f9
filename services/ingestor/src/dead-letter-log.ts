import { requestIdOfHeaders } from '@apg/contracts';
import type { DeadLetter, Logger } from '@apg/platform';

/** Most per-event lines one batch writes; the batch's summary line counts every letter anyway. */
export const MAX_DEAD_LETTER_LINES = 20;

/**
 * One log line per dead-lettered event that came from an api request (Kafka header `apg-request-id`), so
 * the api's request id finds why its report never counted. Bounded per batch: a flood of bad messages
 * must not become a flood of log lines. Messages without a (valid) request id are in the summary only.
 * Returns how many lines were written.
 */
export function logDeadLetteredRequests(log: Pick<Logger, 'warn'>, letters: readonly DeadLetter[], max = MAX_DEAD_LETTER_LINES): number {
  let written = 0;
  for (const l of letters) {
    if (written >= max) break;
    const requestId = requestIdOfHeaders(l.message.headers);
    if (requestId === undefined) continue;
    log.warn({ requestId, reason: l.reason, partition: l.partition, offset: l.message.offset }, 'event dead-lettered');
    written++;
  }
  return written;
}
