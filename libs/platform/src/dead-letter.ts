import type { Producer, IHeaders, KafkaMessage } from 'kafkajs';

export type DeadLetterReason =
  | 'malformed_json'
  | 'unknown_schema_version'
  | 'invalid_event'
  | 'oversized'
  | 'unknown_instance'
  | 'foreign_instance'
  /** Older than the raw-row retention (the ingestor keeps no partition for it any more). */
  | 'expired';

export interface DeadLetter {
  message: KafkaMessage;
  partition: number;
  reason: DeadLetterReason;
  detail: string;
}

/**
 * Sends bad messages to the DLQ with their original key, value and headers, plus headers naming
 * the reason and the origin, so they can be inspected and replayed. Awaited before the offsets are
 * committed: a message is never lost between the topic and the DLQ.
 */
export async function sendToDeadLetter(producer: Producer, dlqTopic: string, sourceTopic: string, letters: DeadLetter[]): Promise<void> {
  if (letters.length === 0) return;
  await producer.send({
    topic: dlqTopic,
    acks: -1,
    messages: letters.map((l) => {
      const headers: IHeaders = {
        ...(l.message.headers ?? {}),
        'apg-dlq-reason': l.reason,
        'apg-dlq-detail': l.detail.slice(0, 1000),
        'apg-dlq-source': `${sourceTopic}/${l.partition}/${l.message.offset}`,
        'apg-dlq-at': String(Date.now()),
      };
      return { key: l.message.key, value: l.message.value, headers };
    }),
  });
}
