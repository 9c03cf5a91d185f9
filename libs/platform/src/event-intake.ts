import { callTimestampProblem, decodeCallResultEvent, type CallResultEvent } from '@apg/contracts';
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

/** Days of raw call results kept when nothing else is configured (`RETENTION_DAYS`). */
export const DEFAULT_RAW_RETENTION_DAYS = 7;

export interface IntakeLimits {
  /** Largest message value accepted, in bytes. */
  maxBytes: number;
  /** The consumer's clock (epoch ms), read once per batch. */
  now: number;
  /** Raw retention in ms: older calls are refused (they would land in a dropped partition). */
  retentionMs: number;
}

/**
 * Decides, per message, whether an event counts: it must decode, be of a known schema version, fit
 * the size limit, be dated within [now − retention, now + 5 min] (contracts' callTimestampProblem, the
 * same window the api answers 400 for), and name an instance that belongs to its project (events
 * published straight to Kafka are not trusted). Each message gets an outcome; nothing throws for a bad
 * message. Only the registry look-up can throw, and that is an infrastructure error for the caller.
 */
export async function admitEvents(
  messages: KafkaMessage[],
  partition: number,
  directory: InstanceDirectory,
  limits: IntakeLimits,
): Promise<Intake> {
  const { maxBytes, now, retentionMs } = limits;
  const decoded: AdmittedEvent[] = [];
  const rejected: DeadLetter[] = [];
  for (const message of messages) {
    if (message.value && message.value.length > maxBytes) {
      rejected.push({ message, partition, reason: 'oversized', detail: `${message.value.length} bytes > ${maxBytes}` });
      continue;
    }
    const result = decodeCallResultEvent(message.value);
    if (!result.ok) {
      rejected.push({ message, partition, reason: result.reason, detail: result.detail });
      continue;
    }
    const problem = callTimestampProblem(result.event.callTimestamp, now, retentionMs);
    if (problem !== null) rejected.push({ message, partition, reason: 'timestamp_out_of_range', detail: problem });
    else decoded.push({ event: result.event, message });
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
