import { decodeCallResultEvent, type CallResultEvent } from '@apg/contracts';
import type { KafkaMessage } from 'kafkajs';
import type { DeadLetter } from './dead-letter';
import type { InstanceDirectory } from './instance-directory';

export interface AdmittedEvent {
  event: CallResultEvent;
  message: KafkaMessage;
}

export interface Intake {
  admitted: AdmittedEvent[];
  rejected: DeadLetter[];
}

/**
 * Decides, per message, whether an event counts: it must decode, be of a known schema version, fit
 * the size limit, and name an instance that belongs to its project (events published straight to
 * Kafka are not trusted). Each message gets an outcome; nothing throws for a bad message. Only the
 * registry look-up can throw, and that is an infrastructure error for the caller to retry.
 */
export async function admitEvents(
  messages: KafkaMessage[],
  partition: number,
  directory: InstanceDirectory,
  maxBytes: number,
): Promise<Intake> {
  const decoded: AdmittedEvent[] = [];
  const rejected: DeadLetter[] = [];
  for (const message of messages) {
    if (message.value && message.value.length > maxBytes) {
      rejected.push({ message, partition, reason: 'oversized', detail: `${message.value.length} bytes > ${maxBytes}` });
      continue;
    }
    const result = decodeCallResultEvent(message.value);
    if (result.ok) decoded.push({ event: result.event, message });
    else rejected.push({ message, partition, reason: result.reason, detail: result.detail });
  }
  if (decoded.length === 0) return { admitted: [], rejected };
  const owners = await directory.ownersOf(decoded.map((d) => d.event.instanceId));
  const admitted: AdmittedEvent[] = [];
  for (const d of decoded) {
    const owner = owners.get(d.event.instanceId);
    if (owner === undefined) {
      rejected.push({ message: d.message, partition, reason: 'unknown_instance', detail: `instance ${d.event.instanceId} is not registered` });
    } else if (owner !== d.event.projectId) {
      rejected.push({ message: d.message, partition, reason: 'foreign_instance', detail: `instance ${d.event.instanceId} does not belong to project ${d.event.projectId}` });
    } else {
      admitted.push(d);
    }
  }
  return { admitted, rejected };
}
